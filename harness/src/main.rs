fn main() {
    std::process::exit(qmpspec::cli::main());
}
