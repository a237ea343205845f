//! One correlation id, one decision: a repeated reservation replays the first answer if it asks
//! for the same, and a settlement must match the granted reservation it settles and any earlier
//! settlement of it.

use gov_model::RiskEvent;

/// Why a reservation or settlement of a correlation id is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The id was decided for another engine or amount.
    #[error("correlation id {correlation_id} was used for {engine} {amount} already")]
    Reused { correlation_id: String, engine: String, amount: f64 },
    #[error("no granted reservation has correlation id {correlation_id}")]
    NoGrantedReservation { correlation_id: String },
    /// The settlement names another engine than the reservation's.
    #[error("the reservation was made on {engine}")]
    OtherEngine { engine: String },
    /// The settlement names another reserved amount than the reservation's.
    #[error("the reservation was for {amount}")]
    OtherAmount { amount: f64 },
    #[error("reservation {correlation_id} was already settled with a loss of {loss}")]
    SettledDifferently { correlation_id: String, loss: f64 },
}

impl Refusal {
    /// The request field that contradicts the reservation, or `None` when the request contradicts
    /// what the id already recorded (a conflict).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Refusal::OtherEngine { .. } => Some("engine"),
            Refusal::OtherAmount { .. } => Some("reserved_amount"),
            Refusal::Reused { .. }
            | Refusal::NoGrantedReservation { .. }
            | Refusal::SettledDifferently { .. } => None,
        }
    }
}

/// A reservation of `amount` on `engine` under an id already decided by `first` (RESERVE or
/// DENY): Ok to replay `first` when it asked for the same, refused otherwise.
pub fn repeat_reservation(first: &RiskEvent, engine: &str, amount: f64) -> Result<(), Refusal> {
    if first.engine != engine || first.amount != amount {
        return Err(Refusal::Reused {
            correlation_id: first.correlation_id.clone(),
            engine: first.engine.clone(),
            amount: first.amount,
        });
    }
    Ok(())
}

/// A settlement as asked.
#[derive(Debug, Clone, Copy)]
pub struct SettleRequest<'a> {
    pub correlation_id: &'a str,
    /// When given, must name the reservation's engine (in any case).
    pub engine: Option<&'a str>,
    /// When given, must equal the reserved amount.
    pub reserved_amount: Option<f64>,
    pub loss: f64,
}

/// What to do with a settlement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settle<'e> {
    /// Settle this granted reservation now.
    New { reserve: &'e RiskEvent },
    /// Answer again with the earlier settlement `first` of `reserve`.
    Replay { reserve: &'e RiskEvent, first: &'e RiskEvent },
}

/// Judges a settlement against the id's RESERVE event (`reserve`, if any) and its SETTLE event
/// (`settled`, if any). The checks run in this order, so the first that fails is the answer: a
/// granted reservation exists, the engine and reserved amount named match it, an earlier
/// settlement had the same loss.
pub fn settlement<'e>(
    request: &SettleRequest<'_>,
    reserve: Option<&'e RiskEvent>,
    settled: Option<&'e RiskEvent>,
) -> Result<Settle<'e>, Refusal> {
    let reserve = reserve
        .filter(|e| e.ok)
        .ok_or_else(|| Refusal::NoGrantedReservation { correlation_id: request.correlation_id.to_owned() })?;
    if request.engine.is_some_and(|e| !e.eq_ignore_ascii_case(&reserve.engine)) {
        return Err(Refusal::OtherEngine { engine: reserve.engine.clone() });
    }
    if request.reserved_amount.is_some_and(|r| r != reserve.amount) {
        return Err(Refusal::OtherAmount { amount: reserve.amount });
    }
    match settled {
        Some(first) if first.amount != request.loss => Err(Refusal::SettledDifferently {
            correlation_id: request.correlation_id.to_owned(),
            loss: first.amount,
        }),
        Some(first) => Ok(Settle::Replay { reserve, first }),
        None => Ok(Settle::New { reserve }),
    }
}

#[cfg(test)]
mod tests {
    use gov_model::{RiskAction, Timestamp};

    use super::*;
    use crate::caps::tests::tenant;

    fn event(action: RiskAction, engine: &str, amount: f64, ok: bool) -> RiskEvent {
        RiskEvent {
            id: format!("{action}-{engine}-{amount}"),
            tenant_id: tenant(),
            engine: engine.to_owned(),
            action,
            amount,
            ok,
            reason: "booking".to_owned(),
            actor: "deal_engine".to_owned(),
            correlation_id: "c1".to_owned(),
            metadata: serde_json::Value::Null,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_repeated_reservation_replays_only_the_same_request() {
        let granted = event(RiskAction::Reserve, "WHOLESALE", 400.0, true);
        let denied = event(RiskAction::Deny, "WHOLESALE", 200.0, false);
        let reused = |engine: &str, amount| {
            Err(Refusal::Reused { correlation_id: "c1".into(), engine: engine.into(), amount })
        };
        #[rustfmt::skip]
        let rows: &[(&RiskEvent, &str, f64, Result<(), Refusal>)] = &[
            (&granted, "WHOLESALE", 400.0, Ok(())),
            (&denied, "WHOLESALE", 200.0, Ok(())),
            (&granted, "CAPITAL", 400.0, reused("WHOLESALE", 400.0)),
            (&granted, "WHOLESALE", 400.5, reused("WHOLESALE", 400.0)),
            (&denied, "CAPITAL", 5.0, reused("WHOLESALE", 200.0)),
        ];
        for (first, engine, amount, expected) in rows {
            assert_eq!(&repeat_reservation(first, engine, *amount), expected, "{engine} {amount}");
        }
        assert_eq!(
            reused("CAPITAL", 5.0).unwrap_err().to_string(),
            "correlation id c1 was used for CAPITAL 5 already"
        );
    }

    /// A settlement asking (engine, reserved amount, loss), of an id with the events `reserve` and
    /// `settled`, gets `expected`, and a refusal says `message`.
    fn check_settle(
        ask: (Option<&str>, Option<f64>, f64),
        reserve: Option<&RiskEvent>,
        settled: Option<&RiskEvent>,
        expected: Result<Settle<'_>, Refusal>,
        message: &str,
    ) {
        let (engine, reserved_amount, loss) = ask;
        let request = SettleRequest { correlation_id: "c1", engine, reserved_amount, loss };
        let got = settlement(&request, reserve, settled);
        assert_eq!(got, expected, "{request:?}");
        assert_eq!(got.err().map(|e| e.to_string()).unwrap_or_default(), message);
    }

    #[test]
    fn a_settlement_matches_its_reservation_and_its_first_settlement() {
        let granted = event(RiskAction::Reserve, "WHOLESALE", 400.0, true);
        let legacy_denied = event(RiskAction::Reserve, "WHOLESALE", 400.0, false);
        let settled = event(RiskAction::Settle, "WHOLESALE", 50.0, true);
        let new = || Ok(Settle::New { reserve: &granted });
        let none = || Err(Refusal::NoGrantedReservation { correlation_id: "c1".into() });
        let other_amount = || Err(Refusal::OtherAmount { amount: 400.0 });
        check_settle((None, None, 50.0), Some(&granted), None, new(), "");
        check_settle((Some("wholesale"), Some(400.0), 50.0), Some(&granted), None, new(), "");
        check_settle((None, None, 50.0), None, None, none(), "no granted reservation has correlation id c1");
        check_settle(
            (None, None, 50.0),
            Some(&legacy_denied),
            None,
            none(),
            "no granted reservation has correlation id c1",
        );
        check_settle(
            (Some("CAPITAL"), None, 50.0),
            Some(&granted),
            None,
            Err(Refusal::OtherEngine { engine: "WHOLESALE".into() }),
            "the reservation was made on WHOLESALE",
        );
        check_settle(
            (None, Some(300.0), 50.0),
            Some(&granted),
            None,
            other_amount(),
            "the reservation was for 400",
        );
        // The request is checked against the reservation before the earlier settlement.
        check_settle(
            (None, Some(300.0), 60.0),
            Some(&granted),
            Some(&settled),
            other_amount(),
            "the reservation was for 400",
        );
        let replay = Ok(Settle::Replay { reserve: &granted, first: &settled });
        check_settle((None, None, 50.0), Some(&granted), Some(&settled), replay, "");
        check_settle(
            (None, None, 60.0),
            Some(&granted),
            Some(&settled),
            Err(Refusal::SettledDifferently { correlation_id: "c1".into(), loss: 50.0 }),
            "reservation c1 was already settled with a loss of 50",
        );
        assert_eq!(Refusal::OtherEngine { engine: "X".into() }.field(), Some("engine"));
        assert_eq!(Refusal::OtherAmount { amount: 1.0 }.field(), Some("reserved_amount"));
        assert_eq!(Refusal::NoGrantedReservation { correlation_id: "c".into() }.field(), None);
    }
}
