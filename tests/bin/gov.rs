//! The `gov` command line, built as a binary of the test package so that `tests/it` can run it as
//! a real process (cargo sets `CARGO_BIN_EXE_*` only for a package's own binaries).

fn main() -> anyhow::Result<()> {
    gov_api::cli::main()
}
