//! Exports from the review listener, each audited:
//!
//! - a case bundle for a registered partner: one age file sealed to the
//!   partner's recipient, holding the statement as JSON, the signed
//!   evidence manifest, the case's audit excerpt and the files. It is
//!   refused when the witness's consent does not cover sharing with
//!   partners at the level asked for, and the refusal says why;
//! - aggregate statistics: CSV of S0 fields only, of the statements whose
//!   witnesses consented to statistics.
//!
//! Bundle layout (after age decryption): one line of JSON (the header,
//! whose `files` give each file's size), then the files' bytes one after
//! another in that order.

use std::io::{Read, Write};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::audit::{self, Actor, Body as AuditBody, Event, ExportKind, NewEntry};
use crate::auth::extract::{Admin, CsrfForm, SignedIn};
use crate::crypto::{self, Recipient, SealingWriter, random_hex_id};
use crate::server::AppState;
use crate::storage::{Partner, Role};
use crate::web::render;

use super::actions::latest_consent;
use super::statements::readable;
use super::{Nav, message_page, not_found_page};

type Pairs = Vec<(String, String)>;

fn first<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
}

#[derive(Template)]
#[template(path = "review/partners.html")]
struct PartnersPage {
    nav: Option<Nav>,
    partners: Vec<Partner>,
    notice: Option<String>,
}

pub async fn partners(State(state): State<AppState>, Admin(session): Admin) -> Response {
    render::page(&PartnersPage {
        nav: Some(Nav::of(&session)),
        partners: state.store.partners().unwrap_or_default(),
        notice: None,
    })
}

pub async fn add_partner(State(state): State<AppState>, CsrfForm(session, form): CsrfForm<Pairs>) -> Response {
    if session.role != Role::Admin {
        return not_found_page();
    }
    let name: String = first(&form, "name").chars().take(200).collect();
    let Ok(recipient) = first(&form, "recipient").parse::<Recipient>() else {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, "The partner's key must be an age recipient (age1…).");
    };
    if name.is_empty() {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, "Give the partner's name.");
    }
    let partner = Partner { id: random_hex_id(), name, recipient, added: state.clock.today() };
    let entry = NewEntry::by(
        Actor::Account(session.account.to_string()),
        Event::SettingsChanged { setting: "partners".into() },
    )
    .on(partner.id.as_str());
    if state.audit.append(entry).is_err() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing was changed.",
        );
    }
    if state.store.put_partner(&partner).is_err() {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The partner could not be stored.");
    }
    let notice = Some(format!("{} can now receive case bundles.", partner.name));
    render::page(&PartnersPage {
        nav: Some(Nav::of(&session)),
        partners: state.store.partners().unwrap_or_default(),
        notice,
    })
}

/// Sends what a blocking writer writes as the response body.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::other("the download was cancelled"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The partner-sharing level the witness's consent allows: "no",
/// "anonymised" or "with_identity".
fn partner_consent(consent: &[Value]) -> String {
    consent
        .iter()
        .find(|r| r["scope"] == "share" && r["recipient"] == "partners" && r["revoked_at"].is_null())
        .and_then(|r| r["level"].as_str())
        .unwrap_or("no")
        .to_string()
}

pub async fn case_bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key) = match readable(&state, &session, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(Some(partner)) = state.store.partner(first(&form, "partner")) else {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, "Choose a registered partner.");
    };
    let level = first(&form, "level");
    if !["anonymised", "with_identity"].contains(&level) {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, "Choose anonymised or with identity.");
    }
    let actor = Actor::Account(session.account.to_string());
    let allowed = partner_consent(&latest_consent(&record, &key));
    let rank = |l: &str| match l {
        "with_identity" => 2,
        "anonymised" => 1,
        _ => 0,
    };
    if record.state == "withdrawn" || rank(level) > rank(&allowed) {
        let refused = NewEntry::by(
            actor,
            Event::ExportRefused { export: ExportKind::CaseBundle, partner: Some(partner.id.clone()) },
        )
        .on(id.as_str())
        .outcome(audit::Outcome::Denied);
        let _ = state.audit.append(refused);
        let why = match allowed.as_str() {
            "no" => "the witness did not consent to sharing with partners".to_string(),
            a => format!("the witness consented to sharing with partners only {}", a.replace('_', " ")),
        };
        return message_page(StatusCode::FORBIDDEN, &format!("Not exported: {why}."));
    }
    let entry =
        NewEntry::by(actor, Event::ExportMade { export: ExportKind::CaseBundle, partner: Some(partner.id.clone()) })
            .on(id.as_str());
    if state.audit.append(entry).is_err() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing was exported.",
        );
    }

    let open = |s: Option<&crypto::Sealed>| -> Value {
        s.and_then(|s| crypto::open(s.as_bytes(), key.as_ref()).ok())
            .and_then(|p| serde_json::from_slice(p.as_bytes()).ok())
            .unwrap_or(Value::Null)
    };
    let mut statement = open(record.statement.as_ref());
    let identity = if level == "with_identity" { open(record.identity.as_ref()) } else { Value::Null };
    let manifest = open(record.manifest.as_ref());
    let files_meta: Vec<Value> = statement["files"].as_array().cloned().unwrap_or_default();
    if level == "anonymised" {
        // File names can name people and places; an anonymised bundle
        // carries only numbers, sizes and hashes.
        if let Some(files) = statement["files"].as_array_mut() {
            for f in files {
                f["name"] = Value::Null;
            }
        }
    }
    let excerpt: Vec<Value> = audit::read_records(&audit::log_path(state.store.dir()))
        .unwrap_or_default()
        .into_iter()
        .filter(|r| matches!(&r.body, AuditBody::Entry { object: Some(o), .. } if *o == id))
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    let objects: Vec<_> = record.files.iter().map(|f| (f.object.clone(), f.bytes)).collect();
    let header = json!({
        "format": "testimony-case-bundle-v1",
        "partner": partner.name,
        "level": level,
        "statement": statement,
        "identity": identity,
        "manifest": manifest,
        "audit_excerpt": excerpt,
        "files": objects.iter().enumerate().map(|(i, (_, bytes))| json!({
            "index": i + 1,
            "bytes": bytes,
            "sha256": files_meta.get(i).map(|f| f["sha256"].clone()).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
    });

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let store = state.store.clone();
    let recipient = partner.recipient.clone();
    tokio::task::spawn_blocking(move || {
        let result = (|| -> std::io::Result<()> {
            let mut out =
                SealingWriter::new(ChannelWriter(tx.clone()), &[&recipient]).map_err(std::io::Error::other)?;
            out.write_all(header.to_string().as_bytes())?;
            out.write_all(b"\n")?;
            for (object, _) in &objects {
                let sealed = store.objects().read(object).map_err(std::io::Error::other)?;
                let mut plain = crypto::open_stream(sealed, key.as_ref()).map_err(std::io::Error::other)?;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = plain.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n])?;
                }
            }
            out.finish()?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let name = format!("attachment; filename=\"case-{}-{}.age\"", &id[..12], &partner.id[..8]);
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// One CSV cell: codes only (S0), but quoted anyway.
fn cell(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

pub async fn aggregate(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let entry = NewEntry::by(
        Actor::Account(session.account.to_string()),
        Event::ExportMade { export: ExportKind::Aggregate, partner: None },
    );
    if state.audit.append(entry).is_err() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing was exported.",
        );
    }
    let store = state.store.clone();
    let csv = tokio::task::spawn_blocking(move || {
        let mut csv = String::from("received_month,channel,state,roles,acts,regions\n");
        for record in store.submissions().filter_map(Result::ok) {
            let Some(key) = session.desk_key(&record.desk, record.key_generation) else { continue };
            let consents = latest_consent(&record, &key);
            let agreed = consents
                .iter()
                .any(|r| r["scope"] == "aggregate_statistics" && r["level"] == "yes" && r["revoked_at"].is_null());
            if !agreed || record.state == "withdrawn" {
                continue;
            }
            let Some(doc) = record
                .statement
                .as_ref()
                .and_then(|s| crypto::open(s.as_bytes(), key.as_ref()).ok())
                .and_then(|p| serde_json::from_slice::<Value>(p.as_bytes()).ok())
            else {
                continue;
            };
            let fields = doc["fields"].as_object().cloned().unwrap_or_default();
            let codes = |v: Option<&Value>| -> Vec<String> {
                v.and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            };
            let roles = codes(fields.get("role")).join(";");
            let acts: Vec<&str> = crate::intake::schema::act_codes()
                .filter(|code| fields.get(&format!("act_{code}")).and_then(Value::as_str) == Some("yes"))
                .collect();
            let regions: Vec<String> = (1..=5)
                .filter_map(|i| fields.get(&format!("place{i}_region")).and_then(Value::as_str).map(str::to_string))
                .collect();
            let month: String = record.received.to_string().chars().take(7).collect();
            let channel = match record.channel {
                crate::storage::Channel::Web => "web",
                crate::storage::Channel::Assisted => "assisted",
            };
            csv.push_str(
                &[
                    cell(&month),
                    cell(channel),
                    cell(&record.state),
                    cell(&roles),
                    cell(&acts.join(";")),
                    cell(&regions.join(";")),
                ]
                .join(","),
            );
            csv.push('\n');
        }
        csv
    })
    .await
    .unwrap_or_default();
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"testimony-aggregate.csv\""),
    );
    response
}
