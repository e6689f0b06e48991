//! Scenario c: the `contid` tool.

use std::collections::BTreeSet;
use std::time::Duration;

use audit_contid::proc;
use audit_contid::record::{AUDIT_CONTAINER, AUDIT_NS_CREATE, AUDIT_NS_DESTROY};
use audit_contid::spawn::{NsSet, Paused, Program};
use netlink_packet_audit::constants::AUDIT_PPID;
use nix::sys::wait::{waitid, Id, WaitPidFlag};

use crate::checks::{
    check_execs, check_mentions, check_nothing_else, check_ns_destroy_events, check_registrations,
    ns_rule, s, NR_CLONE3,
};
use crate::harness::{
    check_syscall_event, fields_exact, raw, run_cmd, CmdOutput, Stop, SyscallEvent, R, T, V,
};
use crate::lifecycle::exec_rule;

fn check_exit(t: &mut T<'_>, what: &str, out: &CmdOutput, code: i32) -> bool {
    t.check(out.code == code, || {
        format!(
            "{what}: exit {}, want {code} ({})",
            out.code,
            out.describe()
        )
    })
}

/// The pid of the workload that `contid run` started, from its op=set.
fn registered_pid(w: &crate::harness::Window, contid: u64) -> Option<i32> {
    w.find(|r| {
        r.rtype == AUDIT_CONTAINER
            && r.get("op") == Some("set")
            && r.get_u64("contid") == Some(contid)
    })
    .first()
    .and_then(|&i| w.recs[i].get_i64("opid"))
    .and_then(|p| i32::try_from(p).ok())
}

/// `contid run --id N -- /bin/sh -c 'exit 3'` exits 3; the records name N:
/// the tool's op=set, the shell's execve with N's container, op=destroy.
pub fn tool_run_exit_status(t: &mut T<'_>) -> R {
    let n = t.contid();
    exec_rule(t, n)?;
    let id = n.to_string();
    let tool_path = t.cx.tool.to_string_lossy().into_owned();
    t.start()?;
    let out = t.tool(&["run", "--id", &id, "--", "/bin/sh", "-c", "exit 3"])?;
    let w = t.collect()?;
    check_exit(t, "contid run ... exit 3", &out, 3);
    let tool_pid = out.pid as i32;
    let Some(child) = registered_pid(&w, n) else {
        t.fail(format!("no op=set record for contid {n}"));
        return Ok(());
    };
    let sets = w.find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("set"));
    if let Some(&i) = sets.first() {
        let r = &w.recs[i];
        let want_tail = [
            ("pid", raw(tool_pid)),
            ("uid", raw(0)),
            ("auid", V::Any),
            ("ses", V::Any),
            ("comm", s("contid")),
            ("exe", s(&tool_path)),
            ("res", raw(1)),
        ];
        let n_fields = r.fields.iter().filter(|f| f.key != "subj").count();
        let tail: Vec<_> = r
            .fields
            .iter()
            .filter(|f| f.key != "subj")
            .skip(n_fields.saturating_sub(want_tail.len()))
            .cloned()
            .collect();
        let sub = audit_contid::record::Record {
            fields: tail,
            ..r.clone()
        };
        for e in fields_exact(&sub, &want_tail, &[]) {
            t.fail(format!("op=set of the tool: {e}"));
        }
    }
    let mut known = BTreeSet::new();
    check_registrations(t, &w, tool_pid, &[(child, n)], &mut known);
    check_execs(t, &w, &[(child, Some(n), true)], &mut known);
    check_mentions(t, &w, n, 3);
    check_nothing_else(t, &w, &known);
    Ok(())
}

/// `contid run --ns TYPES -- CMD` creates the namespaces in the tool's
/// clone3() event, registers the child with them, and at the end each
/// namespace is destroyed attributed to the container, then the container.
/// Returns the command's output.
fn tool_run_ns_case(t: &mut T<'_>, types: &[&str], cmd: &[&str]) -> Result<CmdOutput, Stop> {
    let n = t.contid();
    let id = n.to_string();
    let list = types.join(",");
    let mut args = vec!["run", "--id", &id, "--ns", &list, "--"];
    args.extend_from_slice(cmd);
    // The tool, in no container, creates the namespaces: its clone3() is audited, as an
    // orchestrator's is with 41-containers.rules.
    ns_rule(t, AUDIT_PPID, t.cx.me as u32)?;
    t.start()?;
    let out = t.tool(&args)?;
    let w = t.collect()?;
    check_exit(t, &format!("contid run --ns {list}"), &out, 0);
    let tool_pid = out.pid as i32;
    let mut known = BTreeSet::new();
    let creates = w.of_type(AUDIT_NS_CREATE);
    let destroys = w.of_type(AUDIT_NS_DESTROY);
    let sets = w.find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("set"));
    for &ty in types {
        let c: Vec<usize> = creates
            .iter()
            .copied()
            .filter(|&i| w.recs[i].get("nstype") == Some(ty))
            .collect();
        if !t.check(c.len() == 1, || {
            format!("{} NS_CREATE of {ty}, want 1", c.len())
        }) {
            continue;
        }
        let r = &w.recs[c[0]];
        let want = [
            ("op", raw("clone")),
            ("nstype", raw(ty)),
            ("nsid", V::Any),
            ("parent-nsid", raw(proc::ns_inode(None, ty)?)),
            ("pid", raw(tool_pid)),
            ("contid", raw(-1)),
        ];
        for e in fields_exact(r, &want, &[]) {
            t.fail(e);
        }
        let nsid = r.get("nsid").unwrap_or("").to_string();
        // The registration shows the child in it.
        if let Some(&set) = sets.first() {
            let field = format!("{ty}ns");
            t.eq(
                &format!("op=set {field}"),
                w.recs[set].get(&field),
                Some(nsid.as_str()),
            );
        }
        let d: Vec<usize> = destroys
            .iter()
            .copied()
            .filter(|&i| w.recs[i].get("nsid") == Some(nsid.as_str()))
            .collect();
        if t.check(d.len() == 1, || {
            format!("{} NS_DESTROY of {ty} {nsid}, want 1", d.len())
        }) {
            let want = [
                ("nstype", raw(ty)),
                ("nsid", raw(&nsid)),
                ("contid", raw(n)),
            ];
            for e in fields_exact(&w.recs[d[0]], &want, &[]) {
                t.fail(e);
            }
        }
    }
    t.eq("NS_CREATE records", creates.len(), types.len());
    t.eq("NS_DESTROY records", destroys.len(), types.len());
    let Some(child) = registered_pid(&w, n) else {
        t.fail(format!("no op=set record for contid {n}"));
        return Ok(out);
    };
    // The NS_CREATE records are part of the tool's clone3() event.
    let serials: BTreeSet<Option<u64>> = creates.iter().map(|&i| w.recs[i].serial()).collect();
    if t.eq("events of the NS_CREATE records", serials.len(), 1) {
        if let Some(&Some(serial)) = serials.iter().next() {
            known.insert(serial);
            check_syscall_event(
                t,
                &w,
                serial,
                &SyscallEvent {
                    what: "the tool's clone3()",
                    nr: NR_CLONE3,
                    pid: tool_pid,
                    exit: Some(i64::from(child)),
                    // Auxiliary records of the audited clone3(), after its SYSCALL record.
                    aux: &[AUDIT_NS_CREATE],
                    during: &[],
                    info: None,
                },
            );
        }
    }
    check_registrations(t, &w, tool_pid, &[(child, n)], &mut known);
    let infos = check_ns_destroy_events(t, &w, &destroys, tool_pid, n, &mut known);
    if let (Some(&last), Some(gone)) = (
        destroys.iter().max(),
        w.find(|r| r.rtype == AUDIT_CONTAINER && r.get("op") == Some("destroy"))
            .first(),
    ) {
        t.check(last < *gone, || "op=destroy before an NS_DESTROY".into());
    }
    check_mentions(t, &w, n, 2 + types.len() + infos);
    check_nothing_else(t, &w, &known);
    Ok(out)
}

/// `contid run --ns net,uts,ipc`: three namespaces, created by the tool,
/// ended attributed to the container.
pub fn tool_run_namespaces(t: &mut T<'_>) -> R {
    tool_run_ns_case(t, &["net", "uts", "ipc"], &["/bin/true"])?;
    Ok(())
}

/// `contid run --ns user,time`: a user namespace in which root is root,
/// and a time namespace, both attributed to the container.
pub fn tool_run_user_time_namespaces(t: &mut T<'_>) -> R {
    let out = tool_run_ns_case(t, &["time", "user"], &["/bin/cat", "/proc/self/uid_map"])?;
    let map: Vec<&str> = out.stdout.split_whitespace().collect();
    t.eq(
        "uid_map in the user namespace",
        map,
        vec!["0", "0", "4294967295"],
    );
    Ok(())
}

/// `contid set` and `contid get`: the value goes in and comes out; bad
/// input is reported with the kernel's errno and a non-zero exit.
pub fn tool_set_get_errors(t: &mut T<'_>) -> R {
    let n = t.contid();
    let target = Paused::spawn(NsSet(0), &Program::Exit(0))?;
    let pid = target.pid().to_string();
    let out = t.tool(&["set", &pid, &n.to_string()])?;
    check_exit(t, "contid set PID N", &out, 0);
    t.eq(
        "contid of the target",
        proc::get_contid(target.pid()).ok(),
        Some(n),
    );
    let out = t.tool(&["get", &pid])?;
    check_exit(t, "contid get PID", &out, 0);
    t.eq(
        "contid get output",
        out.stdout.as_str(),
        format!("{n}\n").as_str(),
    );

    // A zombie is exiting: ESRCH.
    let mut zombie = std::process::Command::new("/bin/true")
        .spawn()
        .map_err(|e| Stop::Error(format!("/bin/true: {e}")))?;
    let zpid = zombie.id() as i32;
    let _ = waitid(
        Id::Pid(nix::unistd::Pid::from_raw(zpid)),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
    );
    t.eq("state of the zombie", proc::state(zpid).ok(), Some('Z'));
    let zombie_pid = zpid.to_string();
    for (args, errno) in [
        (vec!["set", pid.as_str(), "abc"], "EINVAL"),
        (vec!["set", pid.as_str(), "18446744073709551615"], "EINVAL"),
        (vec!["set", pid.as_str(), "-5"], "EINVAL"),
        (vec!["set", "1", "5"], "EPERM"),
        (vec!["set", zombie_pid.as_str(), "5"], "ESRCH"),
    ] {
        let out = t.tool(&args)?;
        let what = format!("contid {}", args.join(" "));
        t.check(out.code != 0, || format!("{what}: exit 0, want an error"));
        t.check(out.stderr.contains(errno), || {
            format!("{what}: stderr {:?} does not name {errno}", out.stderr)
        });
    }
    let _ = zombie.wait();
    // A pid that does not exist.
    let out = t.tool(&["set", "2147483647", "5"])?;
    t.check(out.code != 0 && out.stderr.contains("2147483647"), || {
        format!("contid set of a missing pid: {}", out.describe())
    });
    let out = t.tool(&["get", "not-a-pid"])?;
    t.check(out.code == 2, || {
        format!("contid get not-a-pid: {}", out.describe())
    });
    t.eq("contid still", proc::get_contid(target.pid()).ok(), Some(n));
    drop(target);
    Ok(())
}

/// `contid rule add|list|del` with the kernel's answers.
pub fn tool_rule_add_list_del(t: &mut T<'_>) -> R {
    let k = t.contid().to_string();
    let add = [
        "rule",
        "add",
        "exit",
        "always",
        "--contid",
        &k,
        "--syscall",
        "execve",
        "--arch",
        "b64",
    ];
    let out = t.tool(&add)?;
    if !check_exit(t, "contid rule add exit always", &out, 0) {
        return Ok(());
    }
    let list = t.tool(&["rule", "list"])?;
    check_exit(t, "contid rule list", &list, 0);
    let want = format!("exit,always arch=b64 contid={k} syscall=execve");
    t.check(list.stdout.lines().any(|l| l.trim() == want), || {
        format!("contid rule list does not show {want:?}: {:?}", list.stdout)
    });
    let mut del = add;
    del[1] = "del";
    let out = t.tool(&del)?;
    check_exit(t, "contid rule del", &out, 0);
    let out = t.tool(&del)?;
    t.check(out.code != 0 && out.stderr.contains("ENOENT"), || {
        format!("contid rule del twice: {}", out.describe())
    });
    let out = t.tool(&["rule", "add", "exclude", "never", "--contid", &k, "--not"])?;
    check_exit(t, "contid rule add exclude never --not", &out, 0);
    let list = t.tool(&["rule", "list"])?;
    let want = format!("exclude,never contid!={k}");
    t.check(list.stdout.lines().any(|l| l.trim() == want), || {
        format!("contid rule list does not show {want:?}: {:?}", list.stdout)
    });
    let out = t.tool(&["rule", "del", "exclude", "never", "--contid", &k, "--not"])?;
    check_exit(t, "contid rule del exclude never --not", &out, 0);
    let out = t.tool(&["rule", "add", "user", "never", "--contid", &k])?;
    check_exit(t, "contid rule add user never", &out, 0);
    let out = t.tool(&["rule", "del", "user", "never", "--contid", &k])?;
    check_exit(t, "contid rule del user never", &out, 0);
    let out = t.tool(&["rule", "add", "task", "always", "--contid", &k])?;
    t.check(out.code != 0 && out.stderr.contains("EINVAL"), || {
        format!("contid rule add task: {}", out.describe())
    });
    Ok(())
}

/// `contid watch` prints the records of a container's life, grouped by
/// event.
pub fn tool_watch(t: &mut T<'_>) -> R {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let n = t.contid();
    let id = n.to_string();
    let mut watch = Command::new(&t.cx.tool)
        .args(["watch", "--count", "2", "--timeout", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Stop::Error(format!("contid watch: {e}")))?;
    // It says on standard error when it listens.
    let mut err = BufReader::new(
        watch
            .stderr
            .take()
            .ok_or_else(|| Stop::Error("no stderr".into()))?,
    );
    let mut line = String::new();
    let _ = err.read_line(&mut line);
    t.check(line.contains("listening"), || {
        format!("contid watch said {line:?}")
    });
    let tool = t.cx.tool.clone();
    let out = run_cmd(
        &tool,
        &["run", "--id", &id, "--", "/bin/true"],
        Duration::from_secs(60),
    )?;
    check_exit(t, "contid run", &out, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = watch.try_wait().map_err(|e| Stop::Error(e.to_string()))? {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = watch.kill();
            let _ = watch.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    if let Some(mut o) = watch.stdout.take() {
        use std::io::Read;
        let _ = o.read_to_string(&mut text);
    }
    t.check(status.is_some_and(|s| s.success()), || {
        format!("contid watch --count 2 ended with {status:?}; printed {text:?}")
    });
    let gone = format!("op=destroy contid={n}");
    t.check(
        text.contains("op=set") && text.contains(&format!("contid={n}")),
        || format!("contid watch did not print the op=set of {n}: {text:?}"),
    );
    t.check(text.contains(&gone), || {
        format!("contid watch did not print {gone:?}: {text:?}")
    });
    t.check(
        text.lines().filter(|l| l.starts_with("event ")).count() == 2,
        || format!("contid watch printed other than 2 events: {text:?}"),
    );
    Ok(())
}

/// `contid --help` explains every command.
pub fn tool_help(t: &mut T<'_>) -> R {
    let out = t.tool(&["--help"])?;
    check_exit(t, "contid --help", &out, 0);
    for word in ["run", "set", "get", "delegate", "quota", "watch", "rule"] {
        t.check(out.stdout.contains(word), || {
            format!("contid --help does not mention {word}")
        });
    }
    let out = t.tool(&["run", "--help"])?;
    check_exit(t, "contid run --help", &out, 0);
    for word in ["--quota", "delegate", "EEXIST", "EDQUOT", "EMLINK"] {
        t.check(out.stdout.contains(word), || {
            format!("contid run --help does not mention {word}")
        });
    }
    let out = t.tool(&["rule", "add", "--help"])?;
    check_exit(t, "contid rule add --help", &out, 0);
    for word in ["exit", "exclude", "user", "--contid", "--not", "--syscall"] {
        t.check(out.stdout.contains(word), || {
            format!("contid rule add --help does not mention {word}")
        });
    }
    Ok(())
}
