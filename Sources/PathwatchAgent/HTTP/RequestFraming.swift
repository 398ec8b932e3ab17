/// What the request decoder has produced on one connection, shared between the
/// ``RequestHeadLimiter`` in front of the decoder and the ``RequestEventTranslator`` behind it.
///
/// Both handlers run on the connection's event loop, and the decoder delivers the parts of the
/// bytes it is given synchronously, so the limiter can read this right after forwarding bytes.
final class RequestFraming {
    /// Request heads decoded so far.
    var headsDecoded = 0
    /// Whether the most recently decoded head announced a body.
    var lastHeadAnnouncedBody = false
    /// Set once a rejection has been delivered; nothing more is read from the connection.
    var rejected = false

    init() {}
}
