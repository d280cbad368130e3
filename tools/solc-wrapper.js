#!/usr/bin/env node
// A `solc` command line on top of the npm `solc` package (solcjs), for brownie, py-solc-x,
// forge and slither. No native solc can be downloaded on our build machines, and solcjs's
// own CLI speaks neither `--standard-json` with import callbacks nor the version line
// py-solc-x parses. Only the two entry points those tools use are implemented.
'use strict';
const fs = require('fs');
const path = require('path');

const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, roots: [], inputFile: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version':
      case '-v':
        opts.version = true;
        break;
      case '--standard-json':
        opts.standardJson = true;
        break;
      case '--base-path':
      case '--include-path':
        opts.roots.push(value());
        break;
      case '--allow-paths':
        for (const p of value().split(',')) if (p) opts.roots.push(p);
        break;
      default:
        if (!arg.startsWith('-')) opts.inputFile = arg;
    }
  }
  return opts;
}

function importResolver(roots) {
  const searchRoots = [process.cwd(), ...roots];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : searchRoots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${searchRoots.join(', ')})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const full = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${full}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc-wrapper: only --version and --standard-json are supported\n');
    return 1;
  }
  const input =
    opts.inputFile && opts.inputFile !== '-'
      ? fs.readFileSync(opts.inputFile, 'utf8')
      : fs.readFileSync(0, 'utf8');
  const output = solc.compile(input, { import: importResolver(opts.roots) });
  process.stdout.write(output);
  return 0;
}

process.exitCode = main();
