//! GraphQL over WebSocket (`graphql-transport-ws`, for subscriptions): the upgrade, signing in
//! from `connection_init`, the protocol's close codes, and closing with 1012 on drain.

use std::future::ready;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_graphql::Data;
use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphqlWebSocket, WebSocketProtocols, WsMessage,
};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::http::{GraphqlState, MAX_BODY};
use crate::access::Access;
use crate::auth::Principal;

/// A socket that has not sent `connection_init` by then is closed (4408).
const CONNECTION_INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `graphql-transport-ws` close codes.
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// A close frame's reason has at most this many bytes (RFC 6455, section 5.5).
const MAX_CLOSE_REASON: usize = 123;

/// Upgrades to a GraphQL WebSocket, `graphql-transport-ws` preferred.
pub(super) fn websocket(
    state: GraphqlState,
    upgrade: WebSocketUpgrade,
    headers: &axum::http::HeaderMap,
) -> Response {
    // The session cookie of a page of this service's own (never another site's).
    let session = state
        .access
        .sessions()
        .and_then(|sessions| sessions.token_of(headers))
        .map(str::to_owned);
    let upgrade = upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY);
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse::<WebSocketProtocols>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the WebSocket subprotocol graphql-transport-ws",
        )
            .into_response();
    };
    upgrade.on_upgrade(move |socket| serve_socket(socket, state, protocol, session))
}

/// The close code of a socket closed because this process shuts down (RFC 6455 "service
/// restart"): the client should reconnect, and the balancer sends it to another replica.
const CLOSE_SERVICE_RESTART: u16 = 1012;

/// How far a socket's `connection_init` got.
const INIT_PENDING: u8 = 0;
const INIT_ACCEPTED: u8 = 1;
const INIT_REFUSED: u8 = 2;

/// Runs one GraphQL WebSocket until either side closes it. async-graphql speaks the protocol;
/// this signs the caller in from `connection_init` and gives its refusals the protocol's close
/// codes (async-graphql closes a refused `connection_init` with 1002 and an early `subscribe`
/// with 1011).
async fn serve_socket(
    socket: WebSocket,
    state: GraphqlState,
    protocol: WebSocketProtocols,
    session: Option<String>,
) {
    let _open = crate::http_metrics::Open::new("ri_websocket_connections");
    let (mut sink, incoming) = socket.split();
    let incoming = incoming.take_while(|m| ready(m.is_ok())).filter_map(|m| {
        ready(match m {
            Ok(Message::Text(text)) => Some(Bytes::from(text)),
            Ok(Message::Binary(bytes)) => Some(bytes),
            _ => None,
        })
    });
    let init = Arc::new(AtomicU8::new(INIT_PENDING));
    let outcome = init.clone();
    let access = state.access.clone();
    let mut outgoing = GraphqlWebSocket::new(state.schema.clone(), incoming, protocol)
        .on_connection_init(move |payload| async move {
            let signed_in = sign_in(&access, &payload, session.as_deref()).await;
            let state = if signed_in.is_ok() {
                INIT_ACCEPTED
            } else {
                INIT_REFUSED
            };
            outcome.store(state, Ordering::Release);
            signed_in.map(|principal| {
                let mut data = Data::default();
                data.insert(principal);
                data
            })
        });
    let deadline = tokio::time::sleep(CONNECTION_INIT_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let next = tokio::select! {
            next = outgoing.next() => next,
            () = &mut deadline, if init.load(Ordering::Acquire) == INIT_PENDING => Some(
                WsMessage::Close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout".into()),
            ),
            () = state.config.drain.cancelled() => Some(WsMessage::Close(
                CLOSE_SERVICE_RESTART,
                "Service restart: reconnect".into(),
            )),
        };
        let message = match next {
            Some(WsMessage::Text(text)) => Message::Text(text.into()),
            Some(WsMessage::Close(code, reason)) => {
                close(protocol_close(code, reason, init.load(Ordering::Acquire)))
            }
            None => {
                // The client left, or (legacy protocol) was told `connection_error`.
                let refused = init.load(Ordering::Acquire) == INIT_REFUSED;
                let (code, reason) = if refused {
                    (CLOSE_FORBIDDEN, "Forbidden".to_owned())
                } else {
                    (1000, String::new())
                };
                let _ = sink.send(close((code, reason))).await;
                break;
            }
        };
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
}

/// The close code and reason the protocol asks for, given how far `connection_init` got.
fn protocol_close(code: u16, reason: String, init: u8) -> (u16, String) {
    match init {
        INIT_REFUSED => (CLOSE_FORBIDDEN, reason),
        INIT_PENDING if code == 1011 => (CLOSE_UNAUTHORIZED, "Unauthorized".to_owned()),
        _ => (code, reason),
    }
}

fn close((code, mut reason): (u16, String)) -> Message {
    if reason.len() > MAX_CLOSE_REASON {
        let mut end = MAX_CLOSE_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The caller named by a `connection_init` payload: `authorization` (or `Authorization`) as in
/// the HTTP header, or `token`, the bare token; without either, the upgrade's `session` cookie.
/// Subscriptions need a signed-in caller, so no token is refused like a bad one. The caller's
/// roles are their grants when the connection opens.
async fn sign_in(
    access: &Access,
    payload: &serde_json::Value,
    session: Option<&str>,
) -> async_graphql::Result<Principal> {
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    let authorization = match (
        field("authorization").or_else(|| field("Authorization")),
        field("token"),
    ) {
        (Some(header), _) => header.to_owned(),
        (None, Some(token)) if token.contains(' ') => token.to_owned(),
        (None, Some(token)) => format!("Bearer {token}"),
        (None, None) => {
            return match session {
                Some(session) => signed_in(access.session_principal(session).await),
                None => Err(async_graphql::Error::new(
                    "Forbidden: connection_init needs {\"authorization\": \"Bearer <token>\"}",
                )),
            };
        }
    };
    signed_in(access.principal(Some(&authorization)).await)
}

fn signed_in(principal: Result<Principal, ri_app::AppError>) -> async_graphql::Result<Principal> {
    match principal {
        Ok(principal @ Principal::User(_)) => Ok(principal),
        Ok(Principal::Anonymous) => Err(async_graphql::Error::new("Forbidden: sign in")),
        Err(e) if e.code == ri_app::Code::Unauthenticated => Err(async_graphql::Error::new(
            format!("Forbidden: {}", e.message),
        )),
        Err(e) => Err(async_graphql::Error::new(format!(
            "{}: {}",
            e.code.as_str(),
            e.message
        ))),
    }
}
