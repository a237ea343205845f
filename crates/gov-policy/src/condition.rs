//! Custom-rule conditions: CEL source checked against the known signals and the policy's
//! monitors, compiled once, then evaluated per step.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::types::{CelDouble, CelInt, CelMap, CelMapKey, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, ExecutionError, Program, Value};
use gov_model::Monitors;

use crate::error::{ConditionError, Position};
use crate::signal::{Signal, SignalValue, SignalValues};

/// Longest condition accepted, in characters: bounds parse and evaluation cost.
pub const MAX_CONDITION_CHARS: usize = 4000;

/// CEL's type names, which a condition may use as identifiers (`type(x) == int`).
const TYPE_IDENTS: &[&str] =
    &["bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"];

/// Building the standard environment registers every overload; do it once per process.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A parsed condition that reads only known signals. `Send + Sync`, so a snapshot holding it can
/// be shared across threads.
#[derive(Debug)]
pub struct CompiledCondition {
    program: Program,
    signals: Vec<Signal>,
}

impl CompiledCondition {
    /// Parses `source` and checks its identifiers, without the monitor check (which needs the
    /// policy): what loading a frozen snapshot does.
    pub fn compile(source: &str) -> Result<CompiledCondition, ConditionError> {
        if source.trim().is_empty() {
            return Err(ConditionError::new("condition is empty", None));
        }
        let chars = source.chars().count();
        if chars > MAX_CONDITION_CHARS {
            return Err(ConditionError::new(
                format!("condition is {chars} characters long; at most {MAX_CONDITION_CHARS} are allowed"),
                None,
            ));
        }
        let program = ENV.compile(source).map_err(|errors| {
            // The CEL crate sorts its errors by position; the first is where reading went wrong.
            match errors.errors.first() {
                Some(first) => ConditionError::new(first.msg.clone(), cel_position(first.pos)),
                None => ConditionError::new("condition does not parse", None),
            }
        })?;
        let mut walk =
            Walk { source, program: &program, bound: Vec::new(), depth: 0, signals: Vec::new(), error: None };
        walk.expr(program.expression());
        if let Some(error) = walk.error {
            return Err(error);
        }
        let mut signals: Vec<Signal> = walk.signals.iter().map(|(signal, _)| *signal).collect();
        signals.sort();
        signals.dedup();
        let compiled = CompiledCondition { program, signals };
        compiled.dry_run()?;
        Ok(compiled)
    }

    /// The signals the condition reads, sorted, each once.
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Evaluates the condition; anything but a bool result is an error.
    pub fn evaluate(&self, input: &ConditionInput<'_>) -> Result<bool, ConditionError> {
        match self.program.execute(&context(input)) {
            Ok(Value::Bool(value)) => Ok(value),
            Ok(other) => {
                Err(ConditionError::new(format!("condition gave a {}, not a bool", other.type_of()), None))
            }
            Err(error) => Err(ConditionError::new(error.to_string(), None)),
        }
    }

    /// Runs the condition once on all-zero signals to catch what only evaluation reveals: calls
    /// of functions that do not exist, and results that are not bools. Data-dependent errors
    /// (division by zero, say) are not the condition's fault and pass.
    fn dry_run(&self) -> Result<(), ConditionError> {
        match self.program.execute(&context(&ConditionInput::new(&SignalValues::default()))) {
            Ok(Value::Bool(_)) => Ok(()),
            Ok(other) => Err(ConditionError::new(
                format!("condition must give a bool; it gives a {}", other.type_of()),
                None,
            )),
            Err(ExecutionError::UndeclaredReference(name)) => {
                Err(ConditionError::new(format!("unknown function `{name}`"), None))
            }
            Err(_) => Ok(()),
        }
    }
}

/// Validates a custom rule's condition for a policy with these monitors: it must parse, read
/// only known signals, and read only signals whose monitor is on.
pub fn validate_condition(source: &str, monitors: &Monitors) -> Result<CompiledCondition, ConditionError> {
    let compiled = CompiledCondition::compile(source)?;
    for signal in compiled.signals() {
        if let Some(monitor) = signal.monitor()
            && !monitor.is_on(monitors)
        {
            let position = first_use(source, &compiled.program, *signal);
            return Err(ConditionError::new(
                format!(
                    "{} needs the {} monitor, which is off for this policy",
                    signal.name(),
                    monitor.name()
                ),
                position,
            ));
        }
    }
    Ok(compiled)
}

/// The signal values of one step as CEL values, built once per step (without allocating) and
/// read by every condition. Strings are borrowed, not copied.
pub struct ConditionInput<'a> {
    values: [CelValue<'a>; Signal::ALL.len()],
}

#[derive(Debug)]
enum CelValue<'a> {
    Int(CelInt),
    Double(CelDouble),
    String(CelString<'a>),
}

impl<'a> ConditionInput<'a> {
    pub fn new(values: &SignalValues<'a>) -> ConditionInput<'a> {
        ConditionInput {
            values: Signal::ALL.map(|signal| match values.get(signal) {
                SignalValue::Int(v) => CelValue::Int(CelInt::from(v)),
                SignalValue::Double(v) => CelValue::Double(CelDouble::from(v)),
                SignalValue::String(v) => CelValue::String(CelString::from(v)),
            }),
        }
    }

    fn value(&self, signal: Signal) -> &(dyn Val + 'a) {
        match &self.values[signal as usize] {
            CelValue::Int(v) => v,
            CelValue::Double(v) => v,
            CelValue::String(v) => v,
        }
    }
}

/// CEL looks a qualified name such as `step.tokens` up whole before it tries `step` and selects
/// the field, so answering the whole names hands out the prebuilt values with no map to build.
/// `step` and `run` alone (which `has(step.model)` asks for) get a map built on demand.
impl VariableResolver for ConditionInput<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        if let Some(signal) = Signal::named(variable) {
            return Some(CowVal::Borrowed(self.value(signal)));
        }
        if variable != "step" && variable != "run" {
            return None;
        }
        let object: HashMap<CelMapKey<'b>, Box<dyn Val + 'b>> = Signal::ALL
            .iter()
            .filter(|signal| signal.is_step() == (variable == "step"))
            .map(|signal| (CelMapKey::from(signal.field()), self.value(*signal).clone_as_boxed()))
            .collect();
        Some(CowVal::owned(CelMap::from(object)))
    }
}

/// A context over the shared environment that reads the step's values; building it allocates
/// nothing.
fn context<'v>(input: &'v ConditionInput<'_>) -> Context<'v, 'v> {
    let mut context = Context::with_env(Arc::clone(&ENV));
    context.set_variable_resolver(input);
    context
}

/// The CEL crate reports (line, column), both 1-based, and (0, 0) when it has no location.
fn cel_position((line, column): (isize, isize)) -> Option<Position> {
    let line = u32::try_from(line).ok().filter(|l| *l >= 1)?;
    let column = u32::try_from(column).ok().filter(|c| *c >= 1)?;
    Some(Position { line, column })
}

/// Where the expression `id` starts. The CEL crate records byte offsets; columns count characters.
fn position_of(source: &str, program: &Program, id: u64) -> Option<Position> {
    let (start, _) = program.source_info().offset_for(id)?;
    let before = source.get(..start as usize)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    Some(Position { line: u32::try_from(line).ok()?, column: u32::try_from(column).ok()? })
}

fn first_use(source: &str, program: &Program, signal: Signal) -> Option<Position> {
    let mut walk = Walk { source, program, bound: Vec::new(), depth: 0, signals: Vec::new(), error: None };
    walk.expr(program.expression());
    walk.signals
        .iter()
        .filter(|(s, _)| *s == signal)
        .filter_map(|(_, id)| position_of(source, program, *id))
        .min()
}

/// Walks the AST, recording each signal read and the first (leftmost) reference to anything
/// that is not a signal.
struct Walk<'p> {
    source: &'p str,
    program: &'p Program,
    /// Variables bound by enclosing comprehensions (`x` of `list.all(x, ...)`).
    bound: Vec<&'p str>,
    /// Comprehension nesting: nested ones could multiply into unbounded work per step.
    depth: u32,
    signals: Vec<(Signal, u64)>,
    error: Option<ConditionError>,
}

impl<'p> Walk<'p> {
    fn expr(&mut self, e: &'p IdedExpr) {
        match &e.expr {
            Expr::Ident(name) => {
                if !self.bound.contains(&name.as_str()) && !TYPE_IDENTS.contains(&name.as_str()) {
                    let message = if name == "step" || name == "run" {
                        format!(
                            "`{name}` can only be read field by field, e.g. {name}.{}",
                            example_field(name)
                        )
                    } else {
                        format!("unknown identifier `{name}`; conditions read only step.* and run.* signals")
                    };
                    self.fail(e.id, message);
                }
            }
            Expr::Select(select) => match &select.operand.expr {
                Expr::Ident(object)
                    if (object == "step" || object == "run") && !self.bound.contains(&object.as_str()) =>
                {
                    match Signal::find(object, &select.field) {
                        Some(signal) => self.signals.push((signal, select.operand.id)),
                        None => {
                            let known: Vec<&str> = Signal::ALL
                                .iter()
                                .map(|s| s.name())
                                .filter(|n| n.starts_with(object.as_str()))
                                .collect();
                            let message = format!(
                                "unknown signal `{object}.{}`; known: {}",
                                select.field,
                                known.join(", ")
                            );
                            self.fail(select.operand.id, message);
                        }
                    }
                }
                _ => self.expr(&select.operand),
            },
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.expr(target);
                }
                for arg in &call.args {
                    self.expr(arg);
                }
            }
            Expr::Comprehension(comp) => {
                if self.depth >= 1 {
                    self.fail(e.id, "comprehensions (all, exists, map, filter) may not be nested".to_owned());
                }
                self.expr(&comp.iter_range);
                self.expr(&comp.accu_init);
                let outer = self.bound.len();
                self.bound.push(&comp.iter_var);
                if let Some(second) = &comp.iter_var2 {
                    self.bound.push(second);
                }
                self.bound.push(&comp.accu_var);
                self.depth += 1;
                self.expr(&comp.loop_cond);
                self.expr(&comp.loop_step);
                self.expr(&comp.result);
                self.depth -= 1;
                self.bound.truncate(outer);
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.expr(element);
                }
            }
            Expr::Map(map) => self.entries(&map.entries),
            Expr::Struct(object) => self.entries(&object.entries),
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    fn entries(&mut self, entries: &'p [cel::common::ast::IdedEntryExpr]) {
        for entry in entries {
            match &entry.expr {
                EntryExpr::MapEntry(item) => {
                    self.expr(&item.key);
                    self.expr(&item.value);
                }
                EntryExpr::StructField(field) => self.expr(&field.value),
            }
        }
    }

    /// Keeps the leftmost error, so the reported one is the first a reader meets.
    fn fail(&mut self, id: u64, message: String) {
        let position = position_of(self.source, self.program, id);
        let earlier = match (&self.error, position) {
            (None, _) => true,
            (Some(kept), Some(new)) => kept.position.is_none_or(|old| new < old),
            (Some(_), None) => false,
        };
        if earlier {
            self.error = Some(ConditionError::new(message, position));
        }
    }
}

fn example_field(object: &str) -> &'static str {
    if object == "step" { "tokens" } else { "tokens_used" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ON: Monitors = Monitors { tokens: true, cost: true, burn_rate: true, steps: true, rag: true };

    /// The signals read, or a fragment of the error message and its (line, column).
    type Expected<'a> = Result<&'a [Signal], (&'a str, Option<(u32, u32)>)>;

    fn check(source: &str, monitors: Monitors, expected: Expected<'_>) {
        let actual = validate_condition(source, &monitors);
        match (actual, expected) {
            (Ok(compiled), Ok(signals)) => assert_eq!(compiled.signals(), signals, "{source:?}"),
            (Err(error), Err((fragment, position))) => {
                assert!(
                    error.message.contains(fragment),
                    "{source:?}: {:?} lacks {fragment:?}",
                    error.message
                );
                let position = position.map(|(line, column)| Position { line, column });
                assert_eq!(error.position, position, "{source:?}: {}", error.message);
            }
            (actual, expected) => panic!("{source:?}: got {actual:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn accepts_conditions_over_known_signals() {
        use Signal::*;
        check("step.tokens > 1000", ALL_ON, Ok(&[StepTokens]));
        check("step.cost_cents > 5 && run.burn_rate > 2.5", ALL_ON, Ok(&[StepCostCents, RunBurnRate]));
        check("step.model.startsWith('gpt') || run.agent_id == 'a'", ALL_ON, Ok(&[StepModel, RunAgentId]));
        check("[1, 2].exists(x, x > step.tokens)", ALL_ON, Ok(&[StepTokens]));
        check("step.model in ['a', 'b'] && type(step.tokens) == int", ALL_ON, Ok(&[StepTokens, StepModel]));
        check("has(step.model) && run.human_actor_id != ''", ALL_ON, Ok(&[StepModel, RunHumanActorId]));
        check("step.retrieved_documents > 10", ALL_ON, Ok(&[StepRetrievedDocuments]));
        check(
            "run.total_cost_cents / double(run.step_count) > 3.0",
            ALL_ON,
            Ok(&[RunStepCount, RunTotalCostCents]),
        );
        // Data-dependent evaluation errors are not a reason to refuse the condition.
        check("run.tokens_used / run.step_count > 3", ALL_ON, Ok(&[RunTokensUsed, RunStepCount]));
        check(
            "true",
            Monitors { tokens: false, cost: false, burn_rate: false, steps: false, rag: false },
            Ok(&[]),
        );
    }

    #[test]
    fn rejects_parse_errors_with_their_position() {
        check("1 +", ALL_ON, Err(("Syntax error", Some((1, 4)))));
        check("step.tokens >\n  1 &&& 2", ALL_ON, Err(("token recognition error", Some((2, 7)))));
        check("'€' +", ALL_ON, Err(("Syntax error", Some((1, 6)))));
        check("step.tokens > 99999999999999999999999", ALL_ON, Err(("invalid int literal", Some((1, 15)))));
        check("   ", ALL_ON, Err(("empty", None)));
        check(&"1 == 1 && ".repeat(500), ALL_ON, Err(("at most 4000", None)));
    }

    #[test]
    fn rejects_unknown_names_at_their_position() {
        check(
            "step.foo > 1",
            ALL_ON,
            Err(("unknown signal `step.foo`; known: step.step_type", Some((1, 1)))),
        );
        check(
            "step.tokens > 1 &&\n  run.tokens > 1",
            ALL_ON,
            Err(("unknown signal `run.tokens`", Some((2, 3)))),
        );
        check("'é' == step.modelx", ALL_ON, Err(("`step.modelx`", Some((1, 8)))));
        check("nope > 1 || steps.x > 1", ALL_ON, Err(("unknown identifier `nope`", Some((1, 1)))));
        check("step['tokens'] > 1", ALL_ON, Err(("`step` can only be read field by field", Some((1, 1)))));
        check("math.greatest(1, 2) > 1", ALL_ON, Err(("unknown identifier `math`", Some((1, 1)))));
        check("step.model.matches('g.*')", ALL_ON, Err(("unknown function `matches`", None)));
        check("step.tokens + 1", ALL_ON, Err(("must give a bool; it gives a int", None)));
        check("[1].all(x, [2].all(y, x < y))", ALL_ON, Err(("may not be nested", Some((1, 19)))));
    }

    #[test]
    fn rejects_signals_whose_monitor_is_off() {
        let off = |edit: fn(&mut Monitors)| {
            let mut monitors = ALL_ON;
            edit(&mut monitors);
            monitors
        };
        let msg = "needs the";
        check("1 < 2 && step.tokens > 1", off(|m| m.tokens = false), Err((msg, Some((1, 10)))));
        check("run.tokens_used > 1", off(|m| m.tokens = false), Err(("tokens monitor", Some((1, 1)))));
        check("step.cost_cents > 1.0", off(|m| m.cost = false), Err(("cost monitor", Some((1, 1)))));
        check("run.burn_rate > 1.0", off(|m| m.burn_rate = false), Err(("burn_rate monitor", Some((1, 1)))));
        check("step.step_type == 'llm'", off(|m| m.steps = false), Err(("steps monitor", Some((1, 1)))));
        check("step.retrieved_documents > 1", Monitors::default(), Err(("rag monitor", Some((1, 1)))));
        check(
            "step.model == 'x' && run.agent_id == 'a'",
            off(|m| *m = Monitors { rag: false, ..ALL_ON }),
            Ok(&[Signal::StepModel, Signal::RunAgentId]),
        );
    }

    #[test]
    fn evaluates_against_the_step_values() {
        let values =
            SignalValues { step_tokens: 500, step_model: "gpt-4", run_burn_rate: 2.5, ..Default::default() };
        let input = ConditionInput::new(&values);
        for (source, expected) in [
            ("step.tokens > 400 && step.model == 'gpt-4'", Ok(true)),
            ("step.tokens > 500.0", Ok(false)),
            ("run.burn_rate >= 2.5", Ok(true)),
            ("run.human_actor_id == ''", Ok(true)),
            ("has(step.model) && has(run.agent_id)", Ok(true)),
            ("[5].exists(step, step > 3)", Ok(true)),
            ("[1, 2, 3].filter(x, x < step.tokens).size() == 3", Ok(true)),
            ("step.tokens / run.step_count > 1", Err("Division by zero")),
            ("step.tokens + run.burn_rate > 1.0", Err("Unsupported binary operator")),
        ] {
            let compiled = CompiledCondition::compile(source).unwrap();
            let actual = compiled.evaluate(&input).map_err(|e| e.message);
            match (actual, expected) {
                (Ok(a), Ok(e)) => assert_eq!(a, e, "{source}"),
                (Err(a), Err(e)) => assert!(a.contains(e), "{source}: {a}"),
                (a, e) => panic!("{source}: got {a:?}, expected {e:?}"),
            }
        }
    }

    #[test]
    fn compiled_conditions_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledCondition>();
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Garbage in, an error (or a condition) out, never a panic: conditions come from users.
    #[test]
    fn arbitrary_text_never_panics() {
        const PIECES: &[&str] = &[
            "step",
            "run",
            ".",
            "tokens",
            "model",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "'",
            "\"",
            "\\",
            " ",
            "\n",
            "1",
            "0.5",
            "-",
            "+",
            "*",
            "/",
            "%",
            "==",
            "<",
            "&&",
            "||",
            "!",
            "?",
            ":",
            ",",
            "has",
            "all",
            "x",
            "exists",
            "size",
            "in",
            "true",
            "null",
            "b'",
            "u",
            "é",
            "`",
            "0x",
            "1e999",
            "9223372036854775808",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap()
        };
        let monitors = Monitors { rag: true, ..Monitors::default() };
        for _ in 0..3000 {
            let len = 1 + next() % 24;
            let source: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
            let _ = validate_condition(&source, &monitors);
        }
        let nested = "(".repeat(500) + "step.tokens > 1" + &")".repeat(500);
        let error = validate_condition(&nested, &monitors).unwrap_err();
        assert!(error.message.contains("Recursion limit"), "{error:?}");
        for deep in
            ["!".repeat(3000) + "true", "-".repeat(3000) + "1 > 0", "[".repeat(1000) + &"]".repeat(1000)]
        {
            let _ = validate_condition(&deep, &monitors);
        }
    }
}
