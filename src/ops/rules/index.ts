import { installRules, type RuleTable } from '../registry.js';
import { activationGradRules } from './activation-grads.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { fusedRules } from './fused.js';
import { indexingRules } from './indexing.js';
import { linalgRules } from './linalg.js';
import { reduceRules } from './reduce.js';
import { shapeRules } from './shape.js';

/** The one table of gradient rules: every primitive op, its forward and its VJP. */
export const rules: RuleTable = {
  ...elementwiseRules,
  ...activationGradRules,
  ...reduceRules,
  ...linalgRules,
  ...shapeRules,
  ...indexingRules,
  ...convRules,
  ...fusedRules,
};

installRules(rules);
