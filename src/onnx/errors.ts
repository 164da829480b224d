import { ChainruleError } from '../errors.js';

/** A model that cannot be written as ONNX, or an ONNX file chainrule cannot build a module from. */
export class OnnxError extends ChainruleError {}
