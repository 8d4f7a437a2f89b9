// The command-line options of the bench scripts: each script names the options it takes, and anything
// else stops it before any work, saying what it takes (an unknown option used to be ignored, so that a
// mistyped one, or --help, ran the whole 20-minute bench).

/**
 * The options in argv: `values` take the next argument, `flags` stand alone. `--help` or `-h` prints
 * usage and exits 0; an unknown option, or a value option without its value, exits 2 naming them.
 * Returns { has(name), value(name, fallback), refuse(message) } (refuse: the same exit 2 for a value
 * the script finds wrong).
 */
export function parseArgs(argv, { values = [], flags = [] }, usage) {
  const given = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    if (values.includes(arg)) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) fail(`${arg} needs a value`, usage);
      given.set(arg, argv[++i]);
    } else if (flags.includes(arg)) given.set(arg, true);
    else
      fail(
        `unknown argument ${JSON.stringify(arg)}; it takes ${[...values.map((v) => `${v} VALUE`), ...flags].join(', ')}`,
        usage,
      );
  }
  return {
    has: (name) => given.has(name),
    value: (name, fallback) => (given.has(name) ? given.get(name) : fallback),
    refuse: (message) => fail(message, usage),
  };
}

function fail(message, usage) {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}
