#!/usr/bin/env node
// Writes dist/cel-trees.cjs, the prebuilt parse trees of our templates' CEL expressions (see
// src/cel-trees.ts). Run by `build` after tsc, from the package folder.
import { writeFileSync } from 'node:fs';
import { celTreesModule, templateExpressions } from '../dist/cel-trees.js';

writeFileSync('dist/cel-trees.cjs', celTreesModule(templateExpressions()));
