/*
 * Business rule "Bridge change event" on change_request: after insert and after update.
 *
 * Posts the changed record to the release bridge as a signed change event. The record is rendered as
 * the Table API returns it with sysparm_display_value=false and sysparm_exclude_reference_link=true:
 * every field, sorted by name, every value a string ("" when empty, journal fields always ""), so the
 * receiver reads the same values it would read by polling. Install steps, payload and headers:
 * config/servicenow/README.md.
 *
 * Properties:
 *   x_bridge.change_event.url     where to post (empty: the rule does nothing)
 *   x_bridge.change_event.secret  shared HMAC key (empty: the event is sent unsigned)
 */
(function executeRule(current, previous /* null on insert */) {
    var url = gs.getProperty('x_bridge.change_event.url', '');
    if (!url) {
        return;
    }
    var secret = gs.getProperty('x_bridge.change_event.secret', '');

    var names = new GlideRecordUtil().getFields(current);
    names.sort();
    var record = {};
    for (var i = 0; i < names.length; i++) {
        var name = String(names[i]);
        var type = String(current.getElement(name).getED().getInternalType());
        var value = current.getValue(name);
        if (type.indexOf('journal') === 0 || value === null) {
            // Journal fields (work_notes, comments) read back empty from the Table API: their entries
            // live in sys_journal_field.
            record[name] = '';
        } else if (type === 'boolean') {
            // getValue() gives the stored 1/0; the Table API shows true/false.
            record[name] = (String(value) === '1' || String(value) === 'true') ? 'true' : 'false';
        } else {
            record[name] = String(value);
        }
    }

    var table = String(current.getTableName());
    var operation = String(current.operation()); // "insert" or "update"
    var body = JSON.stringify({
        table: table,
        operation: operation,
        sys_id: record.sys_id,
        sys_mod_count: record.sys_mod_count,
        sys_updated_on: record.sys_updated_on,
        record: record
    });

    var request = new sn_ws.RESTMessageV2();
    request.setEndpoint(url);
    request.setHttpMethod('post');
    request.setRequestHeader('Content-Type', 'application/json');
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-Bridge-Event', table + '.' + operation);
    if (secret) {
        // generateMac wants the key base64-encoded and returns the MAC in base64
        // (API reference, GlideCertificateEncryption.generateMac).
        var mac = new GlideCertificateEncryption().generateMac(
            GlideStringUtil.base64Encode(secret), 'HmacSHA256', body);
        request.setRequestHeader('X-Bridge-Signature', mac);
    }
    request.setRequestBody(body);
    request.setHttpTimeout(10000);
    // The transaction saving the change does not wait for the bridge.
    request.executeAsync();
})(current, previous);
