//! Reading the audit trail.

use gov_model::{AuditEntry, Page, PageRequest, TenantId};
use gov_store::audit::{self, AuditFilter};

use crate::{Gov, Result};

/// Filters of an audit listing; `None` matches everything.
pub type AuditQuery = AuditFilter;

impl Gov {
    pub fn list_audit_logs(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        Ok(self.db.read(|c| audit::list(c, tenant, query, page))?)
    }
}
