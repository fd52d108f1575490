//! What an isolated session shows of warden: in `$WARDEN_HOME` only the two sockets and
//! the library its programs load (`LD_PRELOAD` names it there), read-only, with mounts that
//! cannot be undone from inside, not even from a user and mount namespace the agent makes
//! itself; warden's binary and library read-only; sockets kept elsewhere shown under the
//! state directory all the same. As root and as the test user.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;

use warden_tests::isolation::{assert_output, give, Isolated, Who};
use warden_tests::probes::{describe, POLICY};
use warden_tests::{libwarden, run, text, warden_bin};

#[test]
fn the_agent_sees_only_the_two_sockets_and_the_library_in_warden_home() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        // What the session must not see is there, outside.
        for name in ["test-policy.toml", "serve.lock", "audit", "test-serve.log"] {
            assert!(
                iso.home.path().join(name).exists(),
                "{name} is missing outside"
            );
        }
        let out = run(&mut iso.bash(
            r#"
echo "names: $(ls -A "$WARDEN_HOME" | grep -v '^\.[0-9]' | tr '\n' ' ')"
for name in test-policy.toml serve.lock sessions.json audit test-serve.log; do
    test -e "$WARDEN_HOME/$name" && echo "visible: $name"
done
touch "$WARDEN_HOME/new" 2>/dev/null && echo "WRITABLE"
echo "socket=$WARDEN_SOCKET door=$WARDEN_DOOR"
echo "preload=$LD_PRELOAD"
touch "$M/$NO-inside"; echo "denied-touch=$?"
"#,
        ));
        let stdout = text(&out.stdout);
        let home = iso.home.path().display();
        assert_output(
            who,
            &out,
            &["names: door.sock libwarden.so warden.sock \n"],
            &["visible:", "WRITABLE"],
        );
        assert!(
            stdout.contains(&format!("socket={home}/warden.sock door={home}/door.sock"))
                && stdout.contains(&format!("preload={home}/libwarden.so\n")),
            "{who:?}: {}",
            describe(&out)
        );
        assert_output(who, &out, &["denied-touch=126"], &[]);
    }
}

/// Codex's sandbox makes user and mount namespaces of its own, so they are not forbidden:
/// the effect is what counts. With every capability of a new user namespace, the mounts it
/// inherited stay: they were locked when the agent's namespace was made.
#[test]
fn the_mounts_cannot_be_undone_from_a_nested_user_and_mount_namespace() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let out = run(&mut iso.bash(
            r#"
unshare --user --map-current-user --mount sh -c '
    umount "$WARDEN_HOME" 2>/dev/null && echo UNMOUNTED
    umount -l "$WARDEN_HOME" 2>/dev/null && echo DETACHED
    umount -l /proc 2>/dev/null && echo PROC-DETACHED
    mount -o remount,bind,rw "$WARDEN_HOME" 2>/dev/null && echo REMOUNTED
    touch "$WARDEN_HOME/new" 2>/dev/null && echo WRITTEN
    rm -f "$WARDEN_HOME/warden.sock" 2>/dev/null
    test -e "$WARDEN_HOME/warden.sock" || echo REMOVED
    test -e "$WARDEN_HOME/serve.lock" && echo REVEALED
    touch "$M/$NO-nested"; echo "nested-touch=$?"
    echo nested-done'
"#,
        ));
        let stdout = text(&out.stdout);
        assert_output(who, &out, &["nested-done"], &[]);
        for effect in [
            "UNMOUNTED",
            "DETACHED",
            "REMOUNTED",
            "WRITTEN",
            "REMOVED",
            "REVEALED",
        ] {
            assert!(
                !stdout.contains(effect),
                "{who:?}: {effect}: {}",
                describe(&out)
            );
        }
        assert_output(who, &out, &["nested-touch=126"], &["PROC-DETACHED"]);
        assert!(!iso.marker("denied-nested").exists());
    }
}

/// `WARDEN_SOCKET` and `WARDEN_DOOR` pointing outside the state directory: the agent finds
/// both under the state directory, and the real ones cannot be removed from inside.
#[test]
fn sockets_kept_elsewhere_are_shown_under_the_state_directory() {
    for who in Who::BOTH {
        let elsewhere = tempdir(who);
        let socket = elsewhere.join("daemon.sock");
        let door = elsewhere.join("daemon-door.sock");
        let env = vec![
            ("WARDEN_SOCKET", OsString::from(&socket)),
            ("WARDEN_DOOR", OsString::from(&door)),
        ];
        let iso = Isolated::with_env(who, POLICY, env);
        let out = run(iso
            .bash(
                r#"
echo "socket=$WARDEN_SOCKET door=$WARDEN_DOOR"
rm -f "$REAL_SOCKET" "$REAL_DOOR" 2>/dev/null
test -S "$REAL_SOCKET" && test -S "$REAL_DOOR" && echo "real-ones-kept"
touch "$M/$NO-elsewhere"; echo "denied-touch=$?"
touch "$M/ok-elsewhere"
"#,
            )
            .env("REAL_SOCKET", &socket)
            .env("REAL_DOOR", &door));
        let stdout = text(&out.stdout);
        let home = iso.home.path().display();
        assert!(
            stdout.contains(&format!("socket={home}/warden.sock door={home}/door.sock")),
            "{who:?}: {}",
            describe(&out)
        );
        assert_output(who, &out, &["real-ones-kept", "denied-touch=126"], &[]);
        assert!(
            iso.marker("ok-elsewhere").exists(),
            "{who:?}: {}",
            describe(&out)
        );
        drop(iso);
        let _ = std::fs::remove_dir_all(&elsewhere);
    }
}

/// A working directory inside the hidden state directory is entered again by its path, so
/// the agent does not keep a handle on what the session hides.
#[test]
fn a_working_directory_inside_the_state_directory_is_not_kept_open() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let inside = iso.home.path().join("audit");
        let out = run(iso
            .preload(&["--", "cat", "test-policy.toml"])
            .current_dir(iso.home.path()));
        assert!(!out.status.success(), "{who:?}: {}", describe(&out));
        assert!(
            !text(&out.stdout).contains("deny-marker"),
            "{}",
            describe(&out)
        );
        let out = run(iso.preload(&["--", "ls"]).current_dir(&inside));
        assert_eq!(out.status.code(), Some(3), "{who:?}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains(&format!(
                "cannot enter the working directory {} in the session",
                inside.display()
            )),
            "{who:?}: {}",
            describe(&out)
        );
    }
}

/// What guards the next session (the `warden` binary, `libwarden.so`) cannot be rewritten,
/// replaced or removed from inside, even where the user owns it.
#[test]
fn warden_and_its_library_cannot_be_replaced_from_inside() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let bin = iso.home.work().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let (warden, library) = (bin.join("warden"), bin.join("libwarden.so"));
        std::fs::copy(warden_bin(), &warden).unwrap();
        std::fs::copy(libwarden(), &library).unwrap();
        give(&bin, who);
        let before = (
            std::fs::read(&warden).unwrap(),
            std::fs::read(&library).unwrap(),
        );
        let mut session = iso.command(&warden);
        session
            .args(["preload", "--", "bash", "-c"])
            .arg(
                r#"
for file in "$OWN_BINARY" "$OWN_LIBRARY"; do
    printf x >> "$file" 2>/dev/null && echo "APPENDED $file"
    mv "$file" "$file.moved" 2>/dev/null && echo "MOVED $file"
    rm -f "$file" 2>/dev/null; test -e "$file" || echo "REMOVED $file"
    cp /bin/true "$file" 2>/dev/null && echo "REPLACED $file"
done
echo done"#,
            )
            .current_dir(iso.home.work())
            .env("WARDEN_LIB", &library)
            .env("OWN_BINARY", &warden)
            .env("OWN_LIBRARY", &library);
        let out = run(&mut session);
        let stdout = text(&out.stdout);
        assert_output(who, &out, &["done"], &[]);
        for effect in ["APPENDED", "MOVED", "REMOVED", "REPLACED"] {
            assert!(!stdout.contains(effect), "{who:?}: {}", describe(&out));
        }
        let after = (
            std::fs::read(&warden).unwrap(),
            std::fs::read(&library).unwrap(),
        );
        assert!(before == after, "{who:?}: warden's files changed");
    }
}

/// A directory owned by `who`, outside every warden home.
fn tempdir(who: Who) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("warden-iso-elsewhere-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    give(&dir, who);
    dir
}
