//! The go-live checklist (seed 004): what must hold before a tenant goes live, and whether it does.

use gov_model::{GoLiveState, RiskPolicy};

use crate::GLOBAL;

/// One item of the go-live checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    pub item: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The checklist of a tenant in `state`, with `active_policies` active run policies and the risk
/// policies `risk`: the kill switch released, a run policy active, GLOBAL's risk floor enabled,
/// go-live enabled.
pub fn checklist(state: &GoLiveState, active_policies: i64, risk: &[RiskPolicy]) -> Vec<ChecklistItem> {
    let global = risk.iter().find(|p| p.engine == GLOBAL);
    vec![
        ChecklistItem {
            item: "kill_switch_released",
            ok: !state.kill_switch_engaged,
            detail: format!("kill switch {}", if state.kill_switch_engaged { "engaged" } else { "released" }),
        },
        ChecklistItem {
            item: "active_policies",
            ok: active_policies > 0,
            detail: format!("{active_policies} active run policies"),
        },
        ChecklistItem {
            item: "global_risk_floor",
            ok: global.is_some_and(|g| g.enabled),
            detail: "the GLOBAL risk policy caps every engine".to_owned(),
        },
        ChecklistItem {
            item: "go_live_enabled",
            ok: state.go_live_enabled,
            detail: format!("go-live {}", if state.go_live_enabled { "enabled" } else { "disabled" }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use gov_model::Timestamp;

    use super::*;
    use crate::caps::tests::{policy, tenant};

    /// The checklist of a tenant (go-live enabled, kill switch engaged) with `active` policies and
    /// `risk` is (ok per item, the kill switch's and the policies' details).
    fn check(
        (live, kill): (bool, bool),
        active: i64,
        risk: &[&RiskPolicy],
        ok: [bool; 4],
        details: [&str; 2],
    ) {
        let state = GoLiveState {
            tenant_id: tenant(),
            go_live_enabled: live,
            kill_switch_engaged: kill,
            changed_by: "ops".into(),
            reason: "test".into(),
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let risk: Vec<RiskPolicy> = risk.iter().map(|p| (*p).clone()).collect();
        let items = checklist(&state, active, &risk);
        let names: Vec<_> = items.iter().map(|i| i.item).collect();
        assert_eq!(
            names,
            ["kill_switch_released", "active_policies", "global_risk_floor", "go_live_enabled"]
        );
        let got: Vec<bool> = items.iter().map(|i| i.ok).collect();
        assert_eq!(got, ok, "{live} {kill} {active}");
        assert_eq!([items[0].detail.as_str(), items[1].detail.as_str()], details);
        assert_eq!(items[2].detail, "the GLOBAL risk policy caps every engine");
        assert_eq!(items[3].detail, if live { "go-live enabled" } else { "go-live disabled" });
    }

    #[test]
    fn the_checklist_holds_only_when_every_item_does() {
        let global = policy(GLOBAL, Some(250.0), Some(1500.0), None, None);
        let off = RiskPolicy { enabled: false, ..global.clone() };
        let other = policy("WHOLESALE", None, None, None, None);
        let (released, three) = ("kill switch released", "3 active run policies");
        check((true, false), 3, &[&global, &other], [true, true, true, true], [released, three]);
        check((false, false), 3, &[&global], [true, true, true, false], [released, three]);
        check(
            (true, true),
            1,
            &[&global],
            [false, true, true, true],
            ["kill switch engaged", "1 active run policies"],
        );
        check((true, false), 0, &[&global], [true, false, true, true], [released, "0 active run policies"]);
        check((true, false), 3, &[&other], [true, true, false, true], [released, three]);
        check((true, false), 3, &[&off, &other], [true, true, false, true], [released, three]);
    }
}
