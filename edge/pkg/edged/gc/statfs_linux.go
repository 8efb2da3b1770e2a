package gc

import "syscall"

// statfsUsage is the used and total bytes of path's file system as df
// counts them: total is used plus what unprivileged users may still use.
func statfsUsage(path string) (used, total uint64, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(path, &fs); err != nil {
		return 0, 0, err
	}
	bsize := uint64(fs.Bsize)
	used = (fs.Blocks - fs.Bfree) * bsize
	return used, used + fs.Bavail*bsize, nil
}
