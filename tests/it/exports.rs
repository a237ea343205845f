//! Evidence exports: the signing key, the immutable export rows, and the export routes.

use gov_facades::NewExport;
use gov_model::{ExportFormat, ExportId, ExportKind};

use crate::helpers::{TestApp, raw_count, raw_execute};

fn new_export(kind: ExportKind, format: ExportFormat, artifact: &[u8]) -> NewExport {
    NewExport {
        export_id: ExportId::new(),
        kind,
        format,
        incident_id: None,
        run_id: None,
        bundle_id: "bundle-1".to_owned(),
        bundle_hash: "ab".repeat(32),
        key_id: "0123456789abcdef".to_owned(),
        reason: Some("quarterly audit".to_owned()),
        artifact: Some(artifact.to_vec()),
        size_bytes: artifact.len() as i64,
        document: br#"{"bundle_id":"bundle-1"}"#.to_vec(),
    }
}

#[tokio::test]
async fn an_export_row_and_its_audit_row_are_written_together_and_never_change() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let pdf = b"%PDF-1.7 not really".to_vec();
    let export =
        app.gov.record_export(&app.caller(), new_export(ExportKind::Soc2, ExportFormat::Pdf, &pdf)).unwrap();
    assert_eq!(app.audit_count(), before + 1);
    let tenant = app.tenant.tenant.id;
    assert_eq!(app.gov.get_export(tenant, export.export_id).unwrap(), export);
    let (record, bytes) = app.gov.export_artifact(tenant, export.export_id).unwrap();
    assert_eq!((record.content_type.as_str(), bytes.as_deref()), ("application/pdf", Some(&pdf[..])));
    let (_, document) = app.gov.export_document(tenant, export.export_id).unwrap();
    assert_eq!(document, br#"{"bundle_id":"bundle-1"}"#);

    let url = app.db_url();
    let count = || raw_count(url, "SELECT COUNT(*) AS n FROM evidence_exports");
    assert_eq!(count(), 1);
    assert!(raw_execute(url, "UPDATE evidence_exports SET bundle_hash = 'forged'").is_err());
    assert!(raw_execute(url, "UPDATE evidence_exports SET artifact = NULL").is_err());
    assert!(raw_execute(url, "DELETE FROM evidence_exports").is_err());
    if url.starts_with("postgres") {
        assert!(raw_execute(url, "TRUNCATE evidence_exports").is_err());
        assert!(raw_execute(url, "TRUNCATE signing_keys").is_err());
    }
    assert_eq!(count(), 1);
    assert_eq!(app.gov.export_artifact(tenant, export.export_id).unwrap().1.as_deref(), Some(&pdf[..]));

    let other = app.create_tenant("tenant-b");
    assert!(
        app.gov.get_export(other.tenant.id, export.export_id).is_err(),
        "another tenant's export is not found"
    );
}

#[tokio::test]
async fn replicas_generating_the_key_at_once_end_with_one_key() {
    let app = TestApp::spawn().await;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let gov = app.gov_at(time::OffsetDateTime::now_utc());
            std::thread::spawn(move || gov.public_keys().unwrap().0)
        })
        .collect();
    let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(keys[0].source, gov_model::KeySource::Generated);
    let url = app.db_url();
    assert_eq!(raw_count(url, "SELECT COUNT(*) AS n FROM signing_keys"), 1);
    assert!(raw_execute(url, "UPDATE signing_keys SET public_key = 'forged'").is_err());
    assert!(raw_execute(url, "DELETE FROM signing_keys").is_err());

    // A configured key signs instead; the generated one stays listed, for older exports.
    let configured = gov_evidence::SigningKey::from_seed([9; 32]);
    let gov = app.gov_at(time::OffsetDateTime::now_utc()).with_signing_key(configured.clone());
    let (current, older) = gov.public_keys().unwrap();
    assert_eq!(current.key_id, configured.public_key().key_id());
    assert_eq!(current.source, gov_model::KeySource::Configured);
    assert_eq!(older, vec![keys[0].clone()]);
    assert_eq!(raw_count(url, "SELECT COUNT(*) AS n FROM signing_keys WHERE private_key IS NULL"), 1);
}
