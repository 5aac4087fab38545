//! The end-to-end tests of edgenas, in one test binary (each links burn, tract and the rest
//! once, not thirteen times): a module per subject, sharing [`common`].

mod common;

mod agent;
mod audio;
mod capi;
mod cli;
mod data;
mod engine;
mod export;
mod faults;
mod firmware_app;
mod measure;
mod newcomer;
mod qemu;
mod replay;
mod report;
mod search;
mod spaces;
mod tidy;
mod train;
mod workers;
