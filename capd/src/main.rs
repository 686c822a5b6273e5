use std::process::ExitCode;

use clap::Parser;

use capd::cli::Args;
use capd::config::Config;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("darkstat-capd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cfg = Config::from_args(Args::parse())?;
    let mut warn = |m: &str| eprintln!("darkstat-capd: warning: {m}");
    for n in &cfg.notices {
        warn(n);
    }
    let (acct, iface) = capd::run::offline(&cfg, &mut warn)?;
    let interfaces = [iface];
    if cfg.verbose {
        eprintln!("darkstat-capd: {}", acct.summary());
    }
    if let Some(path) = &cfg.dump_json {
        capd::dump::write(path, &acct.view(&interfaces))?;
    }
    Ok(())
}
