fn main() {
    eprintln!("darkstat-webd: under construction");
    std::process::exit(2);
}
