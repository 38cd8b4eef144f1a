// Loaded with `node --import` by the benchmark: report the process's peak RSS on exit.
process.on('exit', () => {
  process.stderr.write(`capflow-peak-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
