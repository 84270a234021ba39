// tslab compiles notebook cells to CommonJS, which cannot require() the project's ES modules;
// a dynamic import() from a plain .cjs file can.
exports.esmImport = (specifier) => import(specifier);
