import type { RuleTable } from '../registry.js';
import { activationGradRules } from './activation-grads.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { fusedRules } from './fused.js';
import { indexingRules } from './indexing.js';
import { linalgRules } from './linalg.js';
import { rearrangeRules } from './rearrange.js';
import { reduceRules } from './reduce.js';
import { scanRules } from './scan.js';
import { shapeRules } from './shape.js';

/**
 * The one table of gradient rules: every primitive op, its forward and its VJP. A function, so
 * that the registry builds it on the first apply, once every rule module has loaded.
 */
export function ruleTable(): RuleTable {
  return {
    ...elementwiseRules,
    ...activationGradRules,
    ...reduceRules,
    ...scanRules,
    ...linalgRules,
    ...shapeRules,
    ...rearrangeRules,
    ...indexingRules,
    ...convRules,
    ...fusedRules,
  };
}
