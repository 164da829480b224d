/**
 * chainrule/onnx: models to and from ONNX files. A separate entry point, so that the core
 * (`chainrule`) stays free of the protobuf library this needs.
 *
 *   import { exportOnnx, importOnnx } from 'chainrule/onnx';
 */
export { exportOnnx, exportOnnxBytes, DEFAULT_OPSET, type ExportOnnxOptions } from './export.js';
export { OnnxError } from './errors.js';
export { importOnnx, importOnnxBytes, OnnxModule, SUPPORTED_ONNX_OPS } from './import.js';
