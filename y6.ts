import * as ast from './src/definitions/sql-ast.js';
import { loadProject } from './src/project.js';
const t = performance.now();
loadProject('.');
console.log('load', performance.now() - t);
