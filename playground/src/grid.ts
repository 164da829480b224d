/** The plot's geometry, shared by the worker (which evaluates the grid) and the page (which draws it). */

/** Heat-map resolution of the decision boundary (cells per side); the unit maps use every other cell. */
export const GRID = 64;
export const UNIT_GRID = GRID / 2;
/** The plot spans [-EXTENT, EXTENT]² in input units. */
export const EXTENT = 1.2;
