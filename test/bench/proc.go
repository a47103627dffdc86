package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procSample is what /proc tells about a process: peak and current resident memory, CPU time.
type procSample struct {
	hwmKiB, rssKiB int64
	cpu            time.Duration // utime + stime
}

// readProc reads /proc/<pid>/status (VmHWM, VmRSS) and /proc/<pid>/stat (utime, stime).
func readProc(pid int) (procSample, error) {
	var s procSample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "VmHWM:":
			s.hwmKiB, _ = strconv.ParseInt(fields[1], 10, 64)
		case "VmRSS:":
			s.rssKiB, _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	_ = f.Close()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest)
	// After ")": state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
	if len(fields) > 12 {
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		s.cpu = time.Duration(ut+st) * time.Second / time.Duration(clockTicks())
	}
	return s, nil
}

var (
	ticksOnce sync.Once
	ticks     int64 = 100
)

// clockTicks is sysconf(_SC_CLK_TCK), asked of getconf (100 on Linux, whatever the kernel's HZ).
func clockTicks() int64 {
	ticksOnce.Do(func() {
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
				ticks = n
			}
		}
	})
	return ticks
}

// sampler reads a process' /proc entries every interval and keeps the last good reading, so that the
// figures survive the process' exit.
type sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	last procSample
}

func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	if r, err := readProc(s.pid); err == nil {
		s.mu.Lock()
		if r.hwmKiB >= s.last.hwmKiB {
			s.last = r
		}
		s.mu.Unlock()
	}
}

// finish takes a last reading (call it before the process is stopped) and stops sampling.
func (s *sampler) finish() procSample {
	s.sample()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
