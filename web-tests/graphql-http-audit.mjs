// Runs every GraphQL-over-HTTP audit of the `graphql-http` package (the spec's reference
// implementation) against a live server and fails on any WARN (a SHOULD) or ERROR (a MUST).
// NOTICEs (MAYs) are printed only.
//
//   GRAPHQL_URL=http://127.0.0.1:8080/graphql node web-tests/graphql-http-audit.mjs
//
// Run by crates/regional-invest/tests/graphql_http_audit.rs against a started service.

import { serverAudits } from 'graphql-http';

const url = process.env.GRAPHQL_URL;
if (!url) {
  console.error('set GRAPHQL_URL to the server\'s /graphql');
  process.exit(2);
}

let failed = 0;
const audits = serverAudits({ url });
for (const audit of audits) {
  const result = await audit.fn();
  const line = `${result.status.toUpperCase().padEnd(6)} ${audit.id} ${audit.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  let body = '';
  if (result.response) {
    try {
      body = ` — ${result.response.status} ${await result.response.clone().text()}`;
    } catch {
      body = ` — ${result.response.status}`;
    }
  }
  console.log(`${line}: ${result.reason}${body}`);
  if (result.status === 'warn' || result.status === 'error') failed += 1;
}
console.log(`${audits.length} audits, ${failed} WARN or ERROR`);
process.exit(failed === 0 ? 0 : 1);
