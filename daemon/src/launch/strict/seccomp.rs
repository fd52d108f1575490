//! The one way out of the trace, closed. `clone` with `CLONE_UNTRACED` makes a child that no
//! tracer follows (the kernel skips the automatic attach of `PTRACE_O_TRACEFORK` and
//! `TRACECLONE` for it), so a tracee could start an untraced process and run anything in it.
//! The agent's process installs, before its exec, a seccomp filter that every descendant
//! inherits and none can remove: `clone` with that flag fails with `EPERM`, and `clone3`
//! (whose flags live in memory a filter cannot read) with `ENOSYS`, so that libc and Go fall
//! back to `clone`, as they do on kernels older than 5.3.
//!
//! A filter needs `no_new_privs`. Under a tracer without `CAP_SYS_PTRACE` that changes
//! nothing: setuid programs already run without their privileges there.

/// The syscall numbers to filter in one ABI the kernel may run a process in.
struct Abi {
    arch: u32,
    clone: &'static [u32],
    clone3: &'static [u32],
}

/// The ABIs of this machine's kernel: its own, and the 32-bit one it also runs. The arch
/// values are `AUDIT_ARCH_*` of linux/audit.h, which libc does not export.
#[cfg(target_arch = "x86_64")]
const ABIS: &[Abi] = &[
    // x32 system calls are x86_64's numbers with bit 30 set, under the x86_64 arch value.
    Abi {
        arch: AUDIT_ARCH_X86_64,
        clone: &[56, 56 | X32],
        clone3: &[435, 435 | X32],
    },
    Abi {
        arch: 0x4000_0003, // AUDIT_ARCH_I386
        clone: &[120],
        clone3: &[435],
    },
];
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
#[cfg(target_arch = "x86_64")]
const X32: u32 = 0x4000_0000;
#[cfg(target_arch = "aarch64")]
const ABIS: &[Abi] = &[
    Abi {
        arch: 0xc000_00b7, // AUDIT_ARCH_AARCH64
        clone: &[220],
        clone3: &[435],
    },
    Abi {
        arch: 0x4000_0028, // AUDIT_ARCH_ARM
        clone: &[120],
        clone3: &[435],
    },
];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ABIS: &[Abi] = &[];

/// Offsets in `struct seccomp_data`: the syscall number, the ABI, and the low 32 bits of the
/// first argument (little-endian), where every ABI above passes clone's flags.
const NR: u32 = 0;
const ARCH: u32 = 4;
const FLAGS: u32 = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Abi(usize),
    Flags,
    Untraced,
    Refuse,
}

/// The program, as steps whose jumps name labels.
enum Step {
    Load(u32),
    IfEquals(u32, Label),
    IfAnyBit(u32, Label),
    Return(u32),
    Here(Label),
}

/// The filter; `None` on a machine whose system call numbers it does not know.
pub struct Filter(Vec<libc::sock_filter>);

impl Filter {
    pub fn new() -> Option<Filter> {
        (!ABIS.is_empty()).then(|| Filter(assemble(&program())))
    }

    /// Installs the filter on the calling thread (and what it starts).
    ///
    /// # Safety
    /// Async-signal-safe (two system calls): callable between `fork` and `exec`.
    pub unsafe fn install(&self) -> std::io::Result<()> {
        let program = libc::sock_fprog {
            len: self.0.len() as libc::c_ushort,
            filter: self.0.as_ptr().cast_mut(),
        };
        // SAFETY: prctl with integer arguments; seccomp reads `program`, which points at
        // `self.0`, alive for the call.
        let installed = unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                && libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &program as *const libc::sock_fprog,
                ) == 0
        };
        if installed {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

fn program() -> Vec<Step> {
    let mut steps = vec![Step::Load(ARCH)];
    steps.extend(
        ABIS.iter()
            .enumerate()
            .map(|(i, abi)| Step::IfEquals(abi.arch, Label::Abi(i))),
    );
    // No other ABI runs here; should one appear, none of its system calls run.
    steps.push(Step::Return(errno(libc::ENOSYS)));
    for (i, abi) in ABIS.iter().enumerate() {
        steps.push(Step::Here(Label::Abi(i)));
        steps.push(Step::Load(NR));
        steps.extend(
            abi.clone3
                .iter()
                .map(|&nr| Step::IfEquals(nr, Label::Refuse)),
        );
        steps.extend(abi.clone.iter().map(|&nr| Step::IfEquals(nr, Label::Flags)));
        steps.push(Step::Return(libc::SECCOMP_RET_ALLOW));
    }
    steps.push(Step::Here(Label::Flags));
    steps.push(Step::Load(FLAGS));
    steps.push(Step::IfAnyBit(libc::CLONE_UNTRACED as u32, Label::Untraced));
    steps.push(Step::Return(libc::SECCOMP_RET_ALLOW));
    steps.push(Step::Here(Label::Untraced));
    steps.push(Step::Return(errno(libc::EPERM)));
    steps.push(Step::Here(Label::Refuse));
    steps.push(Step::Return(errno(libc::ENOSYS)));
    steps
}

fn errno(code: libc::c_int) -> u32 {
    libc::SECCOMP_RET_ERRNO | code as u32
}

/// Classic BPF from the steps: labels become forward jump offsets.
fn assemble(steps: &[Step]) -> Vec<libc::sock_filter> {
    let mut at = Vec::new();
    let mut position = 0usize;
    for step in steps {
        match step {
            Step::Here(label) => at.push((*label, position)),
            _ => position += 1,
        }
    }
    let target = |label: Label| at.iter().find(|(l, _)| *l == label).map(|(_, p)| *p);
    let mut program = Vec::new();
    for step in steps {
        let here = program.len();
        let jump = |label: Label| {
            let offset = target(label).expect("every label is placed") - here - 1;
            u8::try_from(offset).expect("the filter is short")
        };
        let (code, jt, k) = match *step {
            Step::Here(_) => continue,
            Step::Load(offset) => (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, offset),
            Step::IfEquals(value, label) => (
                libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
                jump(label),
                value,
            ),
            Step::IfAnyBit(bits, label) => (
                libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K,
                jump(label),
                bits,
            ),
            Step::Return(value) => (libc::BPF_RET | libc::BPF_K, 0, value),
        };
        program.push(libc::sock_filter {
            code: code as u16,
            jt,
            jf: 0,
            k,
        });
    }
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a forked child (only raw system calls until `_exit`): install the filter, then
    /// report in the exit status which calls failed as they should.
    #[test]
    fn untraced_clones_fail_and_ordinary_ones_work() {
        let filter = Filter::new().expect("a filter for this machine");
        // SAFETY: the child makes system calls only and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above; clone without CLONE_VM and without a new stack is a fork.
            unsafe {
                let mut failures = 0;
                if filter.install().is_err() {
                    libc::_exit(100);
                }
                let sigchld = libc::SIGCHLD as libc::c_long;
                let untraced = libc::CLONE_UNTRACED as libc::c_long | sigchld;
                if libc::syscall(libc::SYS_clone, untraced, 0, 0, 0, 0) != -1
                    || *libc::__errno_location() != libc::EPERM
                {
                    failures += 1;
                }
                if libc::syscall(libc::SYS_clone3, 0, 0) != -1
                    || *libc::__errno_location() != libc::ENOSYS
                {
                    failures += 2;
                }
                match libc::syscall(libc::SYS_clone, sigchld, 0, 0, 0, 0) {
                    0 => libc::_exit(0),
                    child if child > 0 => {
                        libc::waitpid(child as libc::pid_t, std::ptr::null_mut(), 0);
                    }
                    _ => failures += 4,
                }
                libc::_exit(failures);
            }
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(libc::WEXITSTATUS(status), 0, "failures (bits): 1 untraced clone allowed, 2 clone3 allowed, 4 fork refused, 100 no filter");
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let program = assemble(&program());
        let jumps = program
            .iter()
            .enumerate()
            .filter(|(_, instruction)| instruction.code as u32 & 0x07 == libc::BPF_JMP);
        for (i, jump) in jumps {
            assert!(i + 1 + (jump.jt as usize) < program.len(), "jump at {i}");
        }
        let last = program.last().unwrap();
        assert_eq!(last.code as u32, libc::BPF_RET | libc::BPF_K);
    }
}
