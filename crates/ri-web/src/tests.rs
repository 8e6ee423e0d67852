#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::*;

async fn get(
    path: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = routes()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, headers, body.to_vec())
}

fn header_of(headers: &axum::http::HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

fn files_under(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            let relative = path.strip_prefix(base).unwrap().to_string_lossy();
            out.insert(relative.replace('\\', "/"));
        }
    }
}

fn text(path: &str) -> &'static str {
    std::str::from_utf8(
        asset(path)
            .unwrap_or_else(|| panic!("{path} is not embedded"))
            .bytes,
    )
    .unwrap()
}

#[test]
fn every_file_in_assets_is_embedded_with_its_content_type() {
    let mut on_disk = BTreeSet::new();
    files_under(&assets_dir(), &assets_dir(), &mut on_disk);
    let embedded: BTreeSet<String> = assets().iter().map(|a| a.path.to_owned()).collect();
    assert_eq!(
        on_disk, embedded,
        "src/assets.rs must list exactly the files in assets/"
    );
    for asset in assets() {
        let expected = match asset.path.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("no content type for {other:?}"),
        };
        assert_eq!(asset.content_type, expected, "{}", asset.path);
    }
}

#[tokio::test]
async fn every_page_path_serves_the_index_with_a_strict_policy() {
    let index = asset("index.html").unwrap();
    for path in [
        "/",
        "/instruments/0192f7a0-0000-7000-8000-000000000001",
        "/curate",
        "/curate/new",
        "/curate/abc",
        "/projects",
        "/projects/p1",
        "/clusters",
        "/clusters/c1",
        "/feedback/secret-token",
        "/gaps",
    ] {
        let (status, headers, body) = get(path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, index.bytes, "{path}");
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            header_of(&headers, header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(
            header_of(&headers, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        assert_eq!(header_of(&headers, header::CACHE_CONTROL), "no-cache");
        assert_eq!(header_of(&headers, header::ETAG), index.etag());
    }
    let policy = CONTENT_SECURITY_POLICY;
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
}

#[tokio::test]
async fn assets_are_served_with_their_type_and_revalidated_by_etag() {
    let app = asset("js/app.js").unwrap();
    let (status, headers, body) = get("/assets/js/app.js", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, app.bytes);
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    let etag = header_of(&headers, header::ETAG).to_owned();
    assert_eq!(etag, app.etag());

    let (status, headers, body) = get("/assets/js/app.js", Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header_of(&headers, header::ETAG), etag);

    let (status, _, body) = get("/assets/js/app.js", Some("\"0000000000000000\"")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, app.bytes);

    let (_, headers, _) = get("/assets/css/app.css", None).await;
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );
    // Different files, different validators.
    let tags: BTreeSet<String> = assets().iter().map(Asset::etag).collect();
    assert_eq!(tags.len(), assets().len());
}

#[tokio::test]
async fn unknown_paths_are_not_found_and_nothing_outside_assets_is_reachable() {
    for path in [
        "/nope",
        "/instruments",
        "/curate/a/b",
        "/assets/nope.js",
        "/assets/index.html",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/src/lib.rs",
        "/assets/",
    ] {
        let (status, _, body) = get(path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(body, asset("index.html").unwrap().bytes, "{path}");
    }
}

async fn get_page(path: &str, accept: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::get(path)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap();
    let response = routes().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn a_browser_asking_for_an_unknown_page_gets_404_with_the_app_s_not_found_page() {
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in ["/nope", "/instruments", "/curate/a/b"] {
        let (status, headers, body) = get_page(path, browser).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, asset("index.html").unwrap().bytes, "{path}");
        assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("text/html"));
        assert_eq!(
            header_of(&headers, header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
    }
    // Not under /assets/, and not for a client that does not ask for a page.
    for (path, accept) in [
        ("/assets/nope.js", browser),
        ("/nope", "application/json"),
        ("/nope", "*/*"),
    ] {
        let (status, _, body) = get_page(path, accept).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} {accept}");
        assert_ne!(body, asset("index.html").unwrap().bytes, "{path} {accept}");
    }
    // The router draws its not-found page for any path it does not know.
    let app = text("js/app.js");
    assert!(
        app.contains("module: notFound"),
        "js/app.js lost its not-found route"
    );
}

#[test]
fn the_pages_never_shadow_the_services_other_routes() {
    for page in PAGES {
        for taken in ["/graphql", "/healthz", "/readyz", "/metrics", "/watches"] {
            assert!(!page.starts_with(taken), "{page} collides with {taken}");
        }
    }
}

/// Paths in `src="…"` / `href="…"` of the index, and module specifiers of the scripts.
fn references(source: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let Some(quote) = after.find(['\'', '"']) else {
            break;
        };
        found.push(after[..quote].to_owned());
        rest = &after[quote..];
    }
    found
}

#[test]
fn the_index_and_every_module_refer_only_to_embedded_files() {
    let index = text("index.html");
    let referenced = references(index, "\"/assets/");
    assert!(
        referenced.contains(&"js/app.js".to_owned()),
        "{referenced:?}"
    );
    for path in referenced {
        assert!(
            asset(&path).is_some(),
            "index.html refers to missing {path}"
        );
    }
    for module in assets().iter().filter(|a| a.path.ends_with(".js")) {
        let source = text(module.path);
        let dir = Path::new(module.path).parent().unwrap();
        for quote in ["from '", "import '"] {
            for specifier in references(source, quote) {
                assert!(
                    specifier.starts_with("./") || specifier.starts_with("../"),
                    "{}: {specifier} is not a relative module (no CDN, no bare imports)",
                    module.path
                );
                let mut path = dir.to_path_buf();
                for part in specifier.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            path.pop();
                        }
                        name => path.push(name),
                    }
                }
                let path = path.to_string_lossy().replace('\\', "/");
                assert!(
                    asset(&path).is_some(),
                    "{} imports missing {path}",
                    module.path
                );
            }
        }
    }
}

#[test]
fn nothing_needs_an_exception_to_the_policy_or_reaches_another_origin() {
    let index = text("index.html");
    assert!(!index.contains("<style"), "inline style");
    assert!(!index.contains("style=\""), "inline style attribute");
    let scripts = index.matches("<script").count();
    let external = index
        .matches("<script type=\"module\" src=\"/assets/")
        .count();
    assert_eq!(scripts, external, "inline script in index.html");
    for asset in assets() {
        let Ok(source) = std::str::from_utf8(asset.bytes) else {
            continue;
        };
        for forbidden in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "eval(",
            "new Function",
            "document.write",
        ] {
            assert!(
                !source.contains(forbidden),
                "{} uses {forbidden}",
                asset.path
            );
        }
        for remote in ["http://", "https://", "//cdn", "fonts.googleapis"] {
            for line in source.lines().filter(|l| l.contains(remote)) {
                // Only the SVG namespace and hints that show an example address.
                assert!(
                    line.contains("http://www.w3.org/2000/svg")
                        || line.contains("starting with https://"),
                    "{} refers to another origin: {line}",
                    asset.path
                );
            }
        }
    }
}

#[test]
fn the_pages_graphql_operations_are_named_and_self_contained() {
    let operations = graphql_operations();
    assert!(operations.len() >= 15, "{operations:?}");
    let mut names = BTreeSet::new();
    for operation in &operations {
        assert!(!operation.contains("${"), "interpolation in {operation}");
        let name = operation
            .strip_prefix("query ")
            .or_else(|| operation.strip_prefix("mutation "))
            .or_else(|| operation.strip_prefix("subscription "))
            .unwrap_or_else(|| panic!("not a named query, mutation or subscription: {operation}"))
            .split(['(', ' ', '{'])
            .next()
            .unwrap();
        assert!(name.starts_with("Web"), "{name}");
        assert!(names.insert(name.to_owned()), "{name} twice");
    }
    assert!(names.contains("WebSearch") && names.contains("WebPublishInstrument"));
}
