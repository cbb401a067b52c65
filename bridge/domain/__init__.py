"""The domain's vocabulary: events the systems report, actions the bridge takes, findings it records."""
