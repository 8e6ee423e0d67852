// The feature taxonomy, asked for once per page load.

import { gql } from './api.js';
import { TAXONOMY } from './operations.js';

let pending = null;

/** `{ categories, byCode }`: categories in the API's order, each feature by its code. */
export function taxonomy() {
  pending ??= gql(TAXONOMY, {}, { auth: false })
    .then((data) => {
      const categories = data.taxonomy.categories;
      const byCode = new Map();
      for (const category of categories) {
        for (const feature of category.features) byCode.set(feature.code, { ...feature, category });
      }
      return { categories, byCode };
    })
    .catch((error) => {
      pending = null; // ask again next time
      throw error;
    });
  return pending;
}
