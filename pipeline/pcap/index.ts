/** Capture I/O: pcap/pcapng readers and writers. */
export { type CaptureInterface } from './capture-interface.js';
export { CaptureReader, openCapture, readCaptureFromStream, readPackets, type ReadOptions } from './reader.js';
export { type CaptureWriter, type CommentSource, type PacketComment, createFileWriter, createStreamWriter, formatFromPath, type WriteOptions } from './writer.js';
export { CaptureFormatError, CaptureInputError, type CaptureFormatErrorCode, CaptureWriteError, type CaptureWriteErrorCode } from './errors.js';
export { LINKTYPE, type LinkType, linkTypeName } from './link-type.js';
export { joinTimestamp, rescaleFraction, splitTimestamp, type Timestamp, type Words64 } from './timestamp.js';
