//! AWS API calls outside terraform, through the SDK (standard credential chain,
//! `AWS_ENDPOINT_URL` honoured, like terraform's provider).

pub mod status;
