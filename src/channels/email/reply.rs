//! An agent's email reply with files: `POST /channels/email/conversations/{id}/reply`
//! (multipart: `body` and one or more `file` fields). The message, its files and its outbox
//! row commit together; the sender attaches the files as real MIME parts.

use super::message::{insert_attachment_rows, AttachmentRow};
use crate::auth::{Caller, Role};
use crate::conversations::{self as convs, Actor, NewMessage};
use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, Tx};
use crate::uploads::{clean_name, multipart_error};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde_json::json;
use utoipa::ToSchema;

/// Most files on one reply.
pub const MAX_REPLY_FILES: usize = 10;
/// Most bytes of files on one reply (common mail servers refuse larger messages).
pub const MAX_REPLY_BYTES: usize = 25 * 1024 * 1024;

/// The multipart form of a reply with files.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplyForm {
    /// The reply's text.
    body: String,
    /// A file to attach; repeat the field for several (at most 10, 25 MiB in all).
    #[schema(format = Binary)]
    file: Vec<u8>,
}

/// A file read from the form.
struct Upload {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// Reply to an email conversation with files attached.
#[utoipa::path(post, path = "/channels/email/conversations/{id}/reply", tag = "email",
    request_body(content = inline(ReplyForm), content_type = "multipart/form-data"),
    responses((status = 201, body = crate::conversations::Message),
        (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 422, description = "empty body, NUL characters, too many files or not an email conversation", body = crate::error::ErrorBody)))]
pub async fn reply_with_files(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    req: Request,
) -> ApiResult<(StatusCode, Json<convs::Message>)> {
    caller.require(Role::Agent, "conversations")?;
    let (body, files) = read_form(req).await?;
    let body = checked_body(&state, &body)?;
    let (kind, author) = caller.actor();
    let actor = Actor { kind, id: author };
    let scope = crate::teams::Scope::of(&state.store, &caller).await?;
    let mut tx = state.store.begin().await?;
    let conv = convs::service::get(tx.conn(), &id)
        .await
        .map_err(ApiError::missing("conversation"))?;
    scope.check(&conv)?;
    if conv.channel != "email" {
        return Err(ApiError::invalid(
            "not_email",
            "files are sent this way on email conversations only",
        ));
    }
    let ids: Vec<String> = files.iter().map(|_| new_id()).collect();
    let msg = NewMessage {
        author_kind: if caller.agent().is_some() {
            "agent"
        } else {
            "system"
        },
        author_id: actor.id.clone(),
        body,
        internal: false,
        channel: "email".into(),
        external_id: None,
        meta: json!({ "attachments": ids.iter().zip(&files).map(|(id, f)| json!({
            "id": id, "filename": f.name, "content_type": f.content_type,
            "size": f.bytes.len(), "inline": false,
        })).collect::<Vec<_>>() }),
        at: None,
    };
    let (message, ev) = convs::append_message(&mut tx, &conv.id, msg, &actor).await?;
    store_files(&mut tx, &conv.id, &message.id, &ids, &files).await?;
    super::outbox::enqueue_reply(&mut tx, &conv, &message).await?;
    tx.commit().await?;
    if let Some(ev) = ev {
        state.bus.publish(ev).await;
    }
    Ok((StatusCode::CREATED, Json(message)))
}

fn checked_body(state: &AppState, body: &str) -> ApiResult<String> {
    let body = body.trim();
    if body.is_empty() {
        return Err(ApiError::invalid(
            "invalid_field",
            "`body` must not be empty",
        ));
    }
    if body.contains('\0') {
        return Err(ApiError::invalid(
            "invalid_text",
            "text must not contain NUL characters",
        ));
    }
    if body.chars().count() > state.settings.limits.max_message_chars {
        return Err(ApiError::invalid("too_long", "message body too long"));
    }
    Ok(body.to_string())
}

async fn store_files(
    tx: &mut Tx,
    conversation_id: &str,
    message_id: &str,
    ids: &[String],
    files: &[Upload],
) -> ApiResult<()> {
    let rows = ids.iter().zip(files).map(|(id, f)| AttachmentRow {
        id,
        filename: &f.name,
        content_type: &f.content_type,
        content_id: None,
        inline: false,
        data: &f.bytes,
    });
    insert_attachment_rows(tx, message_id, conversation_id, &rows.collect::<Vec<_>>()).await?;
    Ok(())
}

/// The `body` field and the `file` fields, within the size and count limits.
async fn read_form(req: Request) -> ApiResult<(String, Vec<Upload>)> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(ct)
        .map_err(|_| ApiError::BadRequest("expected a multipart/form-data body".into()))?;
    let limits = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_REPLY_BYTES as u64 + 256 * 1024)
            .for_field("body", 256 * 1024),
    );
    let mut mp =
        multer::Multipart::with_constraints(req.into_body().into_data_stream(), boundary, limits);
    let (mut body, mut files) = (String::new(), Vec::new());
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("body") => body = field.text().await.map_err(multipart_error)?,
            Some("file") => {
                if files.len() == MAX_REPLY_FILES {
                    return Err(ApiError::invalid(
                        "too_many_files",
                        "at most 10 files on one reply",
                    ));
                }
                let name = clean_name(field.file_name());
                let content_type = field
                    .content_type()
                    .map(|m| m.essence_str().to_ascii_lowercase())
                    .unwrap_or_else(|| "application/octet-stream".into());
                let bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
                files.push(Upload {
                    name,
                    content_type,
                    bytes,
                });
            }
            _ => {}
        }
    }
    Ok((body, files))
}
