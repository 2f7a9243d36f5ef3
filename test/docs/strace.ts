/** What an strace log says a process wrote to the file system (test/docs/image.test.ts). */

/**
 * Paths opened for writing, created, renamed, removed or linked, from an strace log of the
 * open/openat/creat/mkdir/rename/unlink/rmdir/symlink/link calls; failed calls and /dev, /proc of
 * the process itself left out.
 */
export function writesIn(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (/= -1 /.test(line)) continue;
    const open = /\b(?:openat|open)\([^"]*"([^"]+)",\s*([A-Z_|]+)/.exec(line);
    if (open?.[1] && /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(open[2] ?? '')) out.push(open[1]);
    const other =
      /\b(creat|mkdirat|mkdir|renameat2|renameat|rename|unlinkat|unlink|rmdir|symlink|link)\([^"]*"([^"]+)"/.exec(
        line,
      );
    if (other?.[2]) out.push(`${other[1]} ${other[2]}`);
  }
  return out.filter((p) => !/^(\/dev\/|\/proc\/self\/|\/proc\/\d+\/)/.test(p));
}
