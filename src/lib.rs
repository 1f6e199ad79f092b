//! `docker-credential-ecr-xacct`: a Docker credential helper for Amazon ECR that gets each
//! registry's token with the right AWS identity (a profile or an assumed role in the owner
//! account) and keeps it in a safe on-disk cache.
//!
//! Data flows one way: [`cli`] -> [`protocol`] (Docker) or [`kubelet`] -> [`lookup`] ->
//! ([`registry`], [`config`], [`identity`], [`cache`]) and, on a miss only, [`aws`] -> [`token`].
//! [`doctor`], [`policy`] and [`docker_config`] are commands beside the protocol that reuse
//! the same pieces.

pub mod aws;
pub mod cache;
pub mod cli;
pub mod config;
pub mod diag;
pub mod docker_config;
pub mod doctor;
pub mod error;
pub mod identity;
pub mod kubelet;
pub mod lookup;
pub mod policy;
pub mod protocol;
pub mod registry;
pub mod secret;
pub mod token;
