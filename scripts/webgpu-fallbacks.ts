/**
 * Which ops one training step of an MLP, of a small CNN and of an Embedding + Linear model runs through the host on WebGPU
 * (webgpuFallbacks()), for issue 15's "no fallback hides in a training step". Run with
 * `npx tsx scripts/webgpu-fallbacks.ts` (SwiftShader: VK_ICD_FILENAMES, as test/webgpu/setup.ts).
 */
import { F, manualSeed, nn, optim, randint, randn } from '../src/index.js';
import { initWebGPU, resetWebGPUFallbacks, webgpuFallbacks, webgpuSync } from '../src/backend/webgpu/index.js';

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.XDG_RUNTIME_DIR ??= '/tmp';
await initWebGPU();
manualSeed(1);

async function step(name: string, net: nn.Module, x: ReturnType<typeof randn>, y: ReturnType<typeof randint>, makeOpt = (ps: nn.Parameter[]): optim.Optimizer => new optim.Adam(ps, { lr: 1e-3 })): Promise<void> {
  net.to('webgpu');
  const opt = makeOpt(net.parameters());
  const xs = x.to('webgpu');
  const ys = y.to('webgpu');
  for (let i = 0; i < 2; i++) {
    if (i === 1) resetWebGPUFallbacks();
    opt.zeroGrad();
    const loss = F.crossEntropy(net.call(xs), ys);
    loss.backward();
    opt.step();
    await loss.itemAsync();
  }
  await webgpuSync();
  console.log(name, JSON.stringify(webgpuFallbacks()));
}

await step('mlp', new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)), randn([32, 784]), randint(0, 10, [32]));
await step(
  'cnn',
  new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Linear(16 * 7 * 7, 10),
  ),
  randn([8, 1, 28, 28]),
  randint(0, 10, [8]),
);
// An Embedding + Linear classifier over token ids [batch, 6] (indexSelect forward, indexAdd backward), trained with Adam and SGD.
const emb = (): nn.Module => new nn.Sequential(new nn.Embedding(50, 16), new nn.Flatten(), new nn.Linear(6 * 16, 10));
await step('embedding', emb(), randint(0, 50, [32, 6]), randint(0, 10, [32]));
await step('embedding-sgd', emb(), randint(0, 50, [32, 6]), randint(0, 10, [32]), (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }));
