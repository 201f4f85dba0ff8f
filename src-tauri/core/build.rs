// The workspace template is embedded with `include_dir!`, which cannot tell Cargo on stable
// Rust which files it read: rebuild when anything in the template folders changes.
fn main() {
    println!("cargo:rerun-if-changed=../../.claude");
    println!("cargo:rerun-if-changed=../../reference");
}
