//! `sqlx::migrate!` embeds `migrations/` at compile time; on stable Rust cargo does not know
//! the macro read that directory, so a new migration would not rebuild the binary without this.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
