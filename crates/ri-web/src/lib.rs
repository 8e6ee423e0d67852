//! The web interface: the public search, instrument pages, the curator area, the follow-up
//! manager's pages (projects, clusters, feature gaps) and the practitioners' feedback form, as plain HTML, CSS and JavaScript modules embedded in
//! the binary. The pages talk only to the public GraphQL API at `/graphql`; this crate serves
//! files and knows nothing of the domain.
//!
//! Every page path answers with the same `index.html`; the browser's router (`js/app.js`) draws
//! the page. Only the paths in [`PAGES`] do, so the other routes of the service (`/graphql`,
//! `/healthz`, `/watches/…`) are never shadowed. Any other path is 404: for a browser asking
//! for a page (`Accept: text/html`) with `index.html`, which draws the app's own not-found page
//! with its navigation; for anyone else, and under `/assets/`, a plain 404.

mod assets;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use assets::{Asset, asset, assets, graphql_operations};

/// The paths the browser's router draws, in axum's syntax. Each answers with `index.html`.
pub const PAGES: &[&str] = &[
    "/",
    "/instruments/{id}",
    "/curate",
    "/curate/new",
    "/curate/{id}",
    // The follow-up manager's pages and the practitioners' feedback form.
    "/projects",
    "/projects/{id}",
    "/projects/{id}/edit",
    "/clusters",
    "/clusters/{id}",
    "/feedback/{token}",
    "/gaps",
    // The inbox of notices and the user's watches.
    "/inbox",
];

/// Only the service's own origin, no inline script or style, no framing. The calendar file of
/// an instrument is a `blob:` download, which needs no exception.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The web interface's routes: the pages and `/assets/*`, with their security headers.
pub fn routes() -> Router {
    let mut router = Router::new().route("/assets/{*path}", get(serve_asset));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
        .fallback(not_found)
        .layer(map_response(security_headers))
}

/// A path nobody serves: 404, with the app's not-found page for a browser's GET of a page.
async fn not_found(method: Method, headers: HeaderMap) -> Response {
    let wants_page = method == Method::GET
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|media| {
                media
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "text/html")
            });
    match asset("index.html") {
        Some(index) if wants_page => (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, index.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            index.bytes,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn index(headers: HeaderMap) -> Response {
    match asset("index.html") {
        Some(index) => respond(index, &headers),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn serve_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match asset(&path) {
        // index.html is a page, reached by its paths, not an asset.
        Some(found) if path != "index.html" => respond(found, &headers),
        _ => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The file, or 304 when the browser's copy is current. File names carry no content hash (no
/// build step), so browsers revalidate every time and the ETag keeps that cheap.
fn respond(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = asset.etag();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.bytes,
    )
        .into_response()
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests;
