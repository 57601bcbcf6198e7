//! `medclear`: see `medclear --help`.

fn main() -> std::process::ExitCode {
    medclear_cli::cli::main()
}
