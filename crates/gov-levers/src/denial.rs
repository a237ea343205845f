//! The reason a denied reservation records, and the cause the day's tally reads back from it.

use crate::BrokenCap;

/// `denied: <broken cap>; <broken cap>...`
pub fn reason(broken: &[BrokenCap]) -> String {
    let broken: Vec<String> = broken.iter().map(ToString::to_string).collect();
    format!("denied: {}", broken.join("; "))
}

/// What a denial is counted under: the first two words of its first broken cap, its engine and
/// measure (`denied: GLOBAL: max_daily_exposure 1500 (...)` -> `GLOBAL: max_daily_exposure`).
pub fn cause(reason: &str) -> String {
    reason.trim_start_matches("denied: ").split(' ').take(2).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cap;

    #[test]
    fn a_denial_names_its_broken_caps_and_is_counted_under_the_first() {
        let open = BrokenCap {
            engine: "WHOLESALE".into(),
            cap: Cap::OpenRisk { cap: 500.0, reserved: 400.0, asked: 200.0 },
        };
        let actions = BrokenCap { engine: "WHOLESALE".into(), cap: Cap::ActionsPerDay { cap: 3 } };
        let global = BrokenCap {
            engine: "GLOBAL".into(),
            cap: Cap::DailyExposure { cap: 1500.0, used: 1400.0, asked: 200.0 },
        };
        #[rustfmt::skip]
        let rows: &[(&[&BrokenCap], &str, &str)] = &[
            (&[&open], "denied: WHOLESALE: max_open_risk 500 (reserved 400, asked 200)", "WHOLESALE: max_open_risk"),
            (&[&actions, &open], "denied: WHOLESALE: max_actions_per_day 3 reached; WHOLESALE: max_open_risk 500 (reserved 400, asked 200)", "WHOLESALE: max_actions_per_day"),
            (&[&global], "denied: GLOBAL: max_daily_exposure 1500 (used 1400, asked 200)", "GLOBAL: max_daily_exposure"),
        ];
        for (broken, expected_reason, expected_cause) in rows {
            let broken: Vec<BrokenCap> = broken.iter().map(|b| (*b).clone()).collect();
            let text = reason(&broken);
            assert_eq!(text, *expected_reason);
            assert_eq!(cause(&text), *expected_cause);
        }
    }

    #[test]
    fn causes_of_recorded_reasons() {
        // Rows written before this engine, or by hand, are counted as they read.
        for (recorded, expected) in [
            ("denied: WHOLESALE: max_open_risk 500 (reserved 400, asked 200)", "WHOLESALE: max_open_risk"),
            ("denied: X", "X"),
            ("over the cap", "over the"),
            ("", ""),
        ] {
            assert_eq!(cause(recorded), expected, "{recorded}");
        }
    }
}
