//! The `gov` binary.

fn main() -> anyhow::Result<()> {
    gov_api::cli::main()
}
