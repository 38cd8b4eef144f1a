// Loaded with `node --import` by the benchmark: report the process's peak RSS and CPU time on exit.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`capflow-peak-rss-kb=${u.maxRSS}\ncapflow-cpu-us=${u.userCPUTime + u.systemCPUTime}\n`);
});
