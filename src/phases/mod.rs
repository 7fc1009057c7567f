//! One module per phase. Each turns config + inputs into its own report type and hands
//! it to the shared output layer (`report::emit`).

pub mod benchmark;
pub mod init;
pub mod lint;
pub mod parity;
pub mod publish;
pub mod report;
pub mod test;
pub mod torch;
