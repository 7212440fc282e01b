// Preloaded (node -r) by the hostile suite into the command under test: writes the
// process's peak resident set size, in kB, when it exits.
process.on('exit', () => {
  try {
    require('node:fs').writeFileSync(process.env.HOSTILE_RSS_FILE, String(process.resourceUsage().maxRSS));
  } catch {
    /* the suite then reports the missing figure */
  }
});
