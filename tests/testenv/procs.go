package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is what tests need to know about a process.
type Proc struct {
	PID, PPID int
	// Session is the session id; processes started by StartProcess share
	// their starter's session.
	Session int
	// State is the state letter from /proc: R, S, D, Z (zombie), ...
	State string
	Argv  []string
}

// Alive reports whether p exists and is not a zombie awaiting its reaper.
func (p Proc) Alive() bool { return p.State != "Z" }

// Procs reads every process from /proc. Processes that exit meanwhile are
// skipped.
func Procs() []Proc {
	entries, _ := os.ReadDir("/proc")
	var procs []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := ReadProc(pid); ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// ReadProc reads process pid from /proc; false if it does not exist.
func ReadProc(pid int) (Proc, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	// Fields after the command name, which is in parentheses and may
	// itself contain spaces: state ppid pgrp session ...
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 4 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	session, _ := strconv.Atoi(fields[3])
	cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	return Proc{PID: pid, PPID: ppid, Session: session, State: fields[0], Argv: argv}, true
}
