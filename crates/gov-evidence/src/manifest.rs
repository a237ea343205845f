//! The manifest of a streamed log export: what was exported, how many rows, and the blake3 of
//! the exact body bytes, sealed like a bundle. `verify_export` checks a body against it offline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sign::{PublicKey, bundle_hash};
use crate::{Integrity, VerifyFailure};

/// The `schema` of a log-export manifest.
pub const MANIFEST_SCHEMA: &str = "gov.log-export-manifest/v1";

/// What a log export sent, as signed at its end (the document of its `evidence_exports` row).
/// Sealed with [`crate::seal`], it gains the `integrity` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExportManifest {
    /// [`MANIFEST_SCHEMA`].
    pub schema: String,
    pub export_id: String,
    pub tenant_id: String,
    /// `llm_runs` or `audit`.
    pub topic: String,
    /// `csv` or `json`.
    pub format: String,
    /// The filters the rows were selected with, by request field name (the time range too).
    pub filters: BTreeMap<String, String>,
    /// The order of the rows, e.g. `seq asc` (the audit trail's order).
    pub order: String,
    /// Log entries in the body (CSV: records after the header row; JSON: array items).
    pub row_count: u64,
    /// Length of the body in bytes.
    pub body_bytes: u64,
    /// Lowercase hex blake3 of the exact body bytes.
    pub body_blake3: String,
    /// When the export began (rows written later are not in it) and ended, in the chain's
    /// spelling (`chain::canonical_time`).
    pub started_at: String,
    pub completed_at: String,
    /// The actor that asked for it, as in the audit trail (`api_key:...`).
    pub generated_by: String,
    pub gov_version: String,
}

/// What a successful check of a log export found.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    pub export_id: String,
    pub topic: String,
    pub format: String,
    pub row_count: u64,
    pub body_blake3: String,
    pub key_id: String,
    pub key_pinned: bool,
}

fn fail(item: &str, problem: impl Into<String>) -> VerifyFailure {
    VerifyFailure { item: item.to_owned(), problem: problem.into() }
}

/// Checks `body` (the downloaded CSV or JSON) against the signed `manifest` document: the
/// manifest's canonical hash and signature (by `pinned` when given, else by the key it embeds),
/// then the body's blake3 and length, then its row count. The first item that does not hold is
/// the error.
pub fn verify_export(
    manifest: &[u8],
    body: &[u8],
    pinned: Option<&PublicKey>,
) -> Result<ExportReport, VerifyFailure> {
    let document: Value =
        serde_json::from_slice(manifest).map_err(|e| fail("manifest", format!("not JSON: {e}")))?;
    let Some(integrity) = document.get("integrity") else {
        return Err(fail("integrity", "missing: the manifest is not signed"));
    };
    let integrity: Integrity = serde_json::from_value(integrity.clone())
        .map_err(|e| fail("integrity", format!("malformed: {e}")))?;
    if bundle_hash(&document) != integrity.bundle_hash {
        return Err(fail("manifest", "hash does not match its content"));
    }
    let embedded = PublicKey::from_hex(&integrity.public_key)
        .map_err(|e| fail("integrity.public_key", e.to_string()))?;
    if embedded.key_id() != integrity.key_id {
        return Err(fail("integrity.key_id", "is not the fingerprint of the embedded public key"));
    }
    if let Some(pinned) = pinned
        && *pinned != embedded
    {
        return Err(fail(
            "signature",
            format!("signed by key {}, not by the pinned key {}", embedded.key_id(), pinned.key_id()),
        ));
    }
    if !embedded.verifies(&integrity.bundle_hash, &integrity.signature) {
        return Err(fail("signature", "does not verify with the key"));
    }
    let mut fields = document;
    if let Value::Object(map) = &mut fields {
        map.remove("integrity");
    }
    let m: LogExportManifest = serde_json::from_value(fields)
        .map_err(|e| fail("manifest", format!("not a log-export manifest: {e}")))?;
    if m.schema != MANIFEST_SCHEMA {
        return Err(fail("schema", format!("{:?} is not {MANIFEST_SCHEMA}", m.schema)));
    }

    if blake3::hash(body).to_hex().as_str() != m.body_blake3 {
        return Err(fail("body", "blake3 does not match the manifest"));
    }
    if body.len() as u64 != m.body_bytes {
        return Err(fail(
            "body_bytes",
            format!("the body has {} bytes, the manifest says {}", body.len(), m.body_bytes),
        ));
    }
    let rows = count_rows(&m.format, body)?;
    if rows != m.row_count {
        return Err(fail(
            "row_count",
            format!("the body has {rows} rows, the manifest says {}", m.row_count),
        ));
    }
    Ok(ExportReport {
        export_id: m.export_id,
        topic: m.topic,
        format: m.format,
        row_count: m.row_count,
        body_blake3: m.body_blake3,
        key_id: embedded.key_id(),
        key_pinned: pinned.is_some(),
    })
}

/// The log entries in `body`: CSV records after the header row, or JSON array items.
fn count_rows(format: &str, body: &[u8]) -> Result<u64, VerifyFailure> {
    match format {
        "csv" => {
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
            let mut record = csv::ByteRecord::new();
            let mut rows = 0;
            while reader
                .read_byte_record(&mut record)
                .map_err(|e| fail("body", format!("not valid CSV: {e}")))?
            {
                rows += 1;
            }
            Ok(rows)
        }
        "json" => {
            let items: Vec<serde::de::IgnoredAny> =
                serde_json::from_slice(body).map_err(|e| fail("body", format!("not a JSON array: {e}")))?;
            Ok(items.len() as u64)
        }
        other => Err(fail("format", format!("{other:?} is neither csv nor json"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{SigningKey, seal};

    const CSV: &[u8] = b"log_id,details\r\na,\"{\"\"k\"\":\"\"x,\r\ny\"\"}\"\r\nb,{}\r\n";

    fn manifest(format: &str, body: &[u8], rows: u64) -> LogExportManifest {
        LogExportManifest {
            schema: MANIFEST_SCHEMA.to_owned(),
            export_id: "e1".to_owned(),
            tenant_id: "t1".to_owned(),
            topic: "audit".to_owned(),
            format: format.to_owned(),
            filters: BTreeMap::from([("action".to_owned(), "x".to_owned())]),
            order: "seq asc".to_owned(),
            row_count: rows,
            body_bytes: body.len() as u64,
            body_blake3: blake3::hash(body).to_hex().to_string(),
            started_at: "2026-12-02T00:00:00.000000Z".to_owned(),
            completed_at: "2026-12-02T00:00:01.000000Z".to_owned(),
            generated_by: "api_key:k".to_owned(),
            gov_version: "0.0.0".to_owned(),
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_seed([3; 32])
    }

    /// `edit` changes the sealed manifest (as JSON) before the check; `expected` is the failure
    /// (`item: problem` prefix) or `None` for a pass.
    fn check(
        m: &LogExportManifest,
        body: &[u8],
        edit: impl FnOnce(&mut Value),
        pinned: Option<PublicKey>,
        expected: Option<&str>,
    ) {
        let mut doc: Value = serde_json::from_slice(&seal(m, &key()).bytes).unwrap();
        edit(&mut doc);
        let got = verify_export(&serde_json::to_vec(&doc).unwrap(), body, pinned.as_ref());
        match (expected, got) {
            (None, Ok(report)) => assert_eq!(report.row_count, m.row_count),
            (Some(want), Err(failure)) => {
                assert!(failure.to_string().starts_with(want), "{failure} does not start with {want}")
            }
            (want, got) => panic!("expected {want:?}, got {got:?}"),
        }
    }

    #[test]
    fn a_sealed_manifest_verifies_its_body_and_names_the_first_bad_item() {
        let m = manifest("csv", CSV, 2);
        let keep = |_: &mut Value| {};
        check(&m, CSV, keep, None, None);
        check(&m, CSV, keep, Some(key().public_key()), None);
        let json_body = br#"[{"a":1},{"a":"],["}]"#;
        check(&manifest("json", json_body, 2), json_body, keep, None, None);
        check(&manifest("csv", b"log_id\r\n", 0), b"log_id\r\n", keep, None, None);

        let mut changed = CSV.to_vec();
        changed[20] ^= 1;
        check(&m, &changed, keep, None, Some("body: blake3 does not match the manifest"));
        check(&m, &CSV[..CSV.len() - 5], keep, None, Some("body: blake3"));
        check(&manifest("csv", CSV, 3), CSV, keep, None, Some("row_count: the body has 2 rows"));
        check(&manifest("json", json_body, 3), json_body, keep, None, Some("row_count: the body has 2 rows"));
        check(&manifest("json", b"{}", 0), b"{}", keep, None, Some("body: not a JSON array"));
        check(&manifest("csv", b"a,b\r\n1\r\n", 1), b"a,b\r\n1\r\n", keep, None, Some("body: not valid CSV"));

        check(&m, CSV, |d| d["row_count"] = 3.into(), None, Some("manifest: hash does not match"));
        check(
            &m,
            CSV,
            |d| d["integrity"]["signature"] = "00".into(),
            None,
            Some("signature: does not verify"),
        );
        check(
            &m,
            CSV,
            |d| d.as_object_mut().unwrap().remove("integrity").map(drop).unwrap(),
            None,
            Some("integrity: missing"),
        );
        let other = SigningKey::from_seed([4; 32]).public_key();
        check(&m, CSV, keep, Some(other), Some("signature: signed by key"));
        // A forger re-seals an edited manifest with their own key: caught when a key is pinned.
        let forged = seal(&manifest("csv", &changed, 2), &SigningKey::from_seed([4; 32]));
        let got = verify_export(&forged.bytes, &changed, Some(&key().public_key())).unwrap_err();
        assert_eq!(got.item, "signature");
        assert!(
            verify_export(b"not json", CSV, None).unwrap_err().to_string().starts_with("manifest: not JSON")
        );
    }
}
