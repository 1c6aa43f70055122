/** Main's port adapter keeps the FrameChannel contract over a MessagePortMain pair (modelled by FakePort). */
import { test } from 'node:test'
import { runFrameChannelTests } from '../shared/frame-channel-contract.ts'
import { FakePort } from './electron/fake-ports.ts'
import { portChannel } from './port-channel.ts'

runFrameChannelTests(
  'main portChannel over a MessagePortMain pair',
  async () => {
    const [mainSide, peerSide] = FakePort.pair()
    return { near: portChannel(mainSide), far: portChannel(peerSide), breakFar: () => peerSide.close() }
  },
  test,
)
