<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<!-- Qt's own words that a Qt release left without Chinese (issue 17): Qt 6.12 gave these labels a mnemonic
     ("Look in:" became "&Look in:") and its qtbase_zh_CN has no translation of the new text. Loaded before Qt's
     translations (ui/resources.py), so Qt's own win wherever they have the text. Rebuild the .qm beside this file:
     .venv/bin/pyside6-lrelease resources/translations/qt_fixes_zh_CN.ts (tests/test_qt_chinese.py checks it). -->
<TS version="2.1" language="zh_CN">
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>查找范围(&amp;L)：</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>文件类型(&amp;T)：</translation>
    </message>
</context>
<context>
    <name>QPrintSettingsOutput</name>
    <message>
        <source>Page &amp;Set:</source>
        <translation>页面组(&amp;S)：</translation>
    </message>
</context>
</TS>
