//! The shape of a sandbox container: every limit the design asks for, in one function that is
//! unit-tested, plus the labels the janitor uses to find containers a dead grader left behind.

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig};
use std::collections::HashMap;

/// Label marking every sandbox container.
pub const ROLE_LABEL: &str = "code-platform.role";
/// Value of [`ROLE_LABEL`] on sandbox containers.
pub const ROLE_SANDBOX: &str = "sandbox";
/// Label naming the grader (consumer) that created the container.
pub const GRADER_LABEL: &str = "code-platform.grader";
/// Label holding the Unix time (seconds) after which the container must be gone.
pub const DEADLINE_LABEL: &str = "code-platform.deadline";

/// Memory the runner and interpreter get on top of the submission's own limit.
const RUNNER_OVERHEAD_MB: i64 = 64;
/// Processes and threads in the whole container: enough for a runner and a submission,
/// too few for a fork bomb to hurt the host.
const PIDS_LIMIT: i64 = 64;
/// One CPU, in units of 10⁻⁹ CPUs.
const ONE_CPU: i64 = 1_000_000_000;
/// `nobody:nogroup`.
const SANDBOX_USER: &str = "65534:65534";

/// What varies between two sandbox containers.
#[derive(Clone, Debug)]
pub struct ContainerSpec<'a> {
    pub image: &'a str,
    pub memory_mb: u32,
    pub grader: &'a str,
    pub deadline_unix: i64,
}

/// The full create request for a sandbox container.
pub fn create_body(spec: &ContainerSpec<'_>) -> ContainerCreateBody {
    let memory = (i64::from(spec.memory_mb) + RUNNER_OVERHEAD_MB) * 1024 * 1024;
    let labels = HashMap::from([
        (ROLE_LABEL.to_owned(), ROLE_SANDBOX.to_owned()),
        (GRADER_LABEL.to_owned(), spec.grader.to_owned()),
        (DEADLINE_LABEL.to_owned(), spec.deadline_unix.to_string()),
    ]);
    let tmpfs = HashMap::from([
        (
            "/sandbox".to_owned(),
            "rw,exec,nosuid,nodev,size=16m,mode=1777".to_owned(),
        ),
        (
            "/tmp".to_owned(),
            "rw,noexec,nosuid,nodev,size=8m,mode=1777".to_owned(),
        ),
    ]);
    ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        user: Some(SANDBOX_USER.to_owned()),
        // The job arrives on stdin (the root file system is read-only, nothing is uploaded).
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        network_disabled: Some(true),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_owned()),
            readonly_rootfs: Some(true),
            tmpfs: Some(tmpfs),
            memory: Some(memory),
            memory_swap: Some(memory),
            pids_limit: Some(PIDS_LIMIT),
            nano_cpus: Some(ONE_CPU),
            cap_drop: Some(vec!["ALL".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            init: Some(false),
            privileged: Some(false),
            auto_remove: Some(false),
            // Under memory pressure on the host, the submission goes first.
            oom_score_adj: Some(1000),
            // Output reaches the grader through the attach stream only; a flood must not
            // fill the host's disk through a log file.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".to_owned()),
                config: None,
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_set() {
        let body = create_body(&ContainerSpec {
            image: "code-platform/sandbox:abc",
            memory_mb: 128,
            grader: "host-1",
            deadline_unix: 1_700_000_000,
        });
        let host = body.host_config.clone().unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.readonly_rootfs, Some(true));
        let tmpfs = host.tmpfs.unwrap();
        assert!(tmpfs["/sandbox"].contains("rw,exec") && tmpfs["/sandbox"].contains("size=16m"));
        assert!(tmpfs["/sandbox"].contains("mode=1777"));
        assert!(tmpfs["/tmp"].starts_with("rw") && tmpfs["/tmp"].contains("size=8m"));
        assert_eq!(host.memory, Some(192 * 1024 * 1024));
        assert_eq!(host.memory_swap, host.memory);
        assert_eq!(host.pids_limit, Some(64));
        assert_eq!(host.nano_cpus, Some(1_000_000_000));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges".to_owned()])
        );
        assert_eq!(host.init, Some(false));
        assert_eq!(host.privileged, Some(false));
        assert!(host.binds.is_none() && host.mounts.is_none());
        assert_eq!(body.user.as_deref(), Some("65534:65534"));
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.stdin_once, Some(true));
        assert_eq!(body.attach_stdin, Some(true));
        let labels = body.labels.unwrap();
        assert_eq!(labels[ROLE_LABEL], "sandbox");
        assert_eq!(labels[GRADER_LABEL], "host-1");
        assert_eq!(labels[DEADLINE_LABEL], "1700000000");
    }
}
