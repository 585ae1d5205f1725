<#
.SYNOPSIS
  Builds the Windows installer of OneDesk (issue 17): dist\OneDesk-<version>-x64.msi.

.DESCRIPTION
  1. a build venv of Python 3.11 with OneDesk (this tree, not editable, extras dev and qtpdf), pinned by
     constraints\windows.txt, plus PyInstaller;
  2. the VERSIONINFO file (packaging\windows\versioninfo.py) and the .ico (packaging\windows\icon.py), handed to
     packaging\onedesk.spec as ONEDESK_VERSION_FILE and ONEDESK_ICON;
  3. PyInstaller one-folder: build\windows\dist\onedesk\onedesk.exe;
  4. signing of the executables, only when ONEDESK_SIGN_PFX gives a certificate;
  5. smoke runs of the frozen program: --help, db upgrade + db check on an empty data folder, and the start-up
     probe (the login window shown offscreen, startup_ms=...);
  6. the MSI: wix build packaging\windows\onedesk.wxs (WiX v5, installed as a dotnet tool when missing), ICE
     validation, and a check that it holds every frozen file and the right ProductVersion;
  7. signing of the MSI (same condition), then its path, size and sha256 (also written to <msi>.sha256).

  Every step stops the build on failure. Runs on Windows only (the Linux .deb: packaging/linux/build-deb).
  This file is ASCII on purpose: Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page.

.PARAMETER Python
  The Python 3.11 to make the build venv with (a path or a command name; default: python).

.PARAMETER OutDir
  Where the MSI goes (default: dist\ in the repository).

.PARAMETER ReuseVenv
  Keep build\windows\venv from the last run (packages are still brought up to the constraints).

.PARAMETER SkipValidation
  Skip `wix msi validate` (ICE checks), for a machine whose Windows Installer service cannot run them.

.NOTES
  Signing: ONEDESK_SIGN_PFX = a .pfx path or the .pfx as base64; ONEDESK_SIGN_PASSWORD = its password;
  ONEDESK_SIGN_TIMESTAMP_URL = RFC 3161 server (default http://timestamp.digicert.com; "none" for no timestamp);
  ONEDESK_SIGNTOOL = signtool.exe when it is not on PATH or in the Windows 10 SDK. Without ONEDESK_SIGN_PFX nothing
  is signed and the build says so.
  ONEDESK_WIX_VERSION = the WiX dotnet tool version to install when wix is missing (default 5.0.2).
#>
[CmdletBinding()]
param(
    [string]$Python = 'python',
    [string]$OutDir = '',
    [switch]$ReuseVenv,
    [switch]$SkipValidation
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

if ([System.Environment]::OSVersion.Platform -ne [System.PlatformID]::Win32NT) {
    throw 'build.ps1 builds the Windows MSI and runs on Windows only (the Linux .deb: packaging/linux/build-deb).'
}

$Root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).Path
Set-Location -LiteralPath $Root
$Work = Join-Path $Root 'build\windows'
if (-not $OutDir) { $OutDir = Join-Path $Root 'dist' }
$Spec = Join-Path $Root 'packaging\onedesk.spec'
$Wxs = Join-Path $Root 'packaging\windows\onedesk.wxs'
$Constraints = Join-Path $Root 'constraints\windows.txt'
$Svg = Join-Path $Root 'resources\icons\onedesk.svg'
$PyInstallerRequirement = 'pyinstaller>=6.10,<7'
$WixVersion = if ($env:ONEDESK_WIX_VERSION) { $env:ONEDESK_WIX_VERSION } else { '5.0.2' }
# The product name, OneDesk and four Chinese characters (quan ke qian tai), from code points: this file stays ASCII.
$ProductName = 'OneDesk ' + (-join [char[]](0x5168, 0x79D1, 0x524D, 0x53F0))
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:PIP_DISABLE_PIP_VERSION_CHECK = '1'
# Python's UTF-8 mode for every Python of the build (pip, PyInstaller, the frozen program's smoke runs): an English
# runner's ANSI code page (cp1252) cannot hold the Chinese texts that go through pipes and files here.
$env:PYTHONUTF8 = '1'

# --- helpers -------------------------------------------------------------------------------------------------

function Invoke-Checked {
    # Runs a native program; a non-zero exit code stops the build. $Display replaces the echoed command line
    # (signtool's password is not printed).
    param([string]$FilePath, [string[]]$Arguments = @(), [string]$Display = '')
    if (-not $Display) { $Display = "$FilePath $($Arguments -join ' ')" }
    Write-Host "> $Display"
    & $FilePath @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "failed (exit code $LASTEXITCODE): $Display" }
}

function Invoke-Capture {
    # Runs a native program and returns its output as one trimmed string; a non-zero exit code stops the build.
    param([string]$FilePath, [string[]]$Arguments = @())
    $output = & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) { throw "failed (exit code $LASTEXITCODE): $FilePath $($Arguments -join ' ')" }
    return (($output | Out-String).Trim())
}

function ConvertTo-Argument {
    # One argument quoted for a Windows command line (the C runtime's rules).
    param([string]$Value)
    if ($Value -ne '' -and $Value -notmatch '[\s"]') { return $Value }
    $quoted = $Value -replace '(\\*)"', '$1$1\"'
    $quoted = $quoted -replace '(\\+)$', '$1$1'
    return '"' + $quoted + '"'
}

function Invoke-Frozen {
    # Runs a frozen executable with its output captured and waits at most $TimeoutSeconds. The windowed
    # onedesk.exe writes to the pipes given here like the console one. PYTHONUTF8=1 (also set for the whole build):
    # the Chinese output would not fit the ANSI code page of an English runner (cp1252) when it goes to a pipe.
    param([string]$FilePath, [string[]]$Arguments, [hashtable]$Environment = @{}, [int]$TimeoutSeconds = 120)
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $FilePath
    $psi.Arguments = (@($Arguments | ForEach-Object { ConvertTo-Argument $_ })) -join ' '
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.StandardOutputEncoding = [System.Text.Encoding]::UTF8
    $psi.StandardErrorEncoding = [System.Text.Encoding]::UTF8
    $psi.EnvironmentVariables['PYTHONUTF8'] = '1'
    foreach ($name in $Environment.Keys) { $psi.EnvironmentVariables[$name] = [string]$Environment[$name] }
    $process = [System.Diagnostics.Process]::Start($psi)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    $finished = $process.WaitForExit($TimeoutSeconds * 1000)
    if (-not $finished) {
        try { $process.Kill() } catch { Write-Warning "could not end $FilePath : $_" }
        [void]$process.WaitForExit(10000)
    }
    $output = ''
    $errors = ''
    if ($stdout.Wait(10000)) { $output = $stdout.Result }
    if ($stderr.Wait(10000)) { $errors = $stderr.Result }
    $exitCode = -1
    if ($finished) { $exitCode = $process.ExitCode }
    return [pscustomobject]@{ Finished = $finished; ExitCode = $exitCode; Output = $output; Errors = $errors }
}

function Assert-Frozen {
    # A smoke run: exit code 0 and standard output matching $Expect, else the build stops with both streams shown.
    param([string]$Name, [string]$FilePath, [string[]]$Arguments, [string]$Expect,
          [hashtable]$Environment = @{}, [int]$TimeoutSeconds = 120)
    $run = Invoke-Frozen -FilePath $FilePath -Arguments $Arguments -Environment $Environment `
                         -TimeoutSeconds $TimeoutSeconds
    $shown = "$(Split-Path -Leaf $FilePath) $($Arguments -join ' ')"
    Write-Host "smoke: $Name ($shown): exit code $($run.ExitCode)"
    if ($run.Output) { Write-Host $run.Output.TrimEnd() }
    $ok = $run.Finished -and $run.ExitCode -eq 0 -and $run.Output -match $Expect
    if (-not $ok) {
        if ($run.Errors) { Write-Host $run.Errors.TrimEnd() }
        if (-not $run.Finished) { throw "smoke test '$Name' did not finish within $TimeoutSeconds s: $shown" }
        throw "smoke test '$Name' failed: exit code $($run.ExitCode), output expected to match '$Expect'"
    }
    return $run.Output
}

function Get-SigningCertificate {
    # The .pfx to sign with, or $null (no signing) when ONEDESK_SIGN_PFX is not set. A value that is set but is
    # neither a file nor base64 stops the build: a release must not come out unsigned by accident.
    $value = $env:ONEDESK_SIGN_PFX
    if ([string]::IsNullOrWhiteSpace($value)) { return $null }
    $isFile = $false
    try { $isFile = Test-Path -LiteralPath $value -PathType Leaf } catch { $isFile = $false }
    if ($isFile) { return (Resolve-Path -LiteralPath $value).Path }
    try {
        $bytes = [System.Convert]::FromBase64String(($value -replace '\s', ''))
    } catch {
        throw 'ONEDESK_SIGN_PFX is set but is neither an existing .pfx file nor base64 of one'
    }
    $path = Join-Path $Work 'signing.pfx'
    [System.IO.File]::WriteAllBytes($path, $bytes)
    return $path
}

function Find-SignTool {
    if ($env:ONEDESK_SIGNTOOL) { return $env:ONEDESK_SIGNTOOL }
    $command = Get-Command signtool.exe -ErrorAction SilentlyContinue
    if ($command) { return $command.Source }
    $kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
    $found = Get-ChildItem -LiteralPath $kits -Filter signtool.exe -Recurse -ErrorAction SilentlyContinue |
        Where-Object { $_.FullName -match '\\x64\\' } | Sort-Object FullName -Descending | Select-Object -First 1
    if (-not $found) {
        throw 'ONEDESK_SIGN_PFX asks for signing but signtool.exe is not found: install the Windows SDK or set ONEDESK_SIGNTOOL'
    }
    return $found.FullName
}

function Invoke-Sign {
    # Authenticode SHA-256 signature (and an RFC 3161 timestamp) on each file, with the product name as the
    # description Windows shows in the UAC prompt.
    param([string[]]$Files)
    $timestamp = if ($env:ONEDESK_SIGN_TIMESTAMP_URL) { $env:ONEDESK_SIGN_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }
    $signArgs = @('sign', '/fd', 'SHA256', '/f', $script:SigningPfx)
    if ($env:ONEDESK_SIGN_PASSWORD) { $signArgs += @('/p', $env:ONEDESK_SIGN_PASSWORD) }
    if ($timestamp -ne 'none') { $signArgs += @('/tr', $timestamp, '/td', 'SHA256') }
    $signArgs += @('/d', $ProductName)
    $signArgs += $Files
    Invoke-Checked -FilePath $script:SignTool -Arguments $signArgs -Display "signtool sign ($timestamp) $($Files -join ' ')"
    foreach ($file in $Files) {
        $signature = Get-AuthenticodeSignature -LiteralPath $file
        $signer = 'no signer'
        if ($signature.SignerCertificate) { $signer = $signature.SignerCertificate.Subject }
        Write-Host "signed: $file ($($signature.Status); $signer)"
    }
}

function Initialize-Wix {
    # wix on PATH (the dotnet global tool, installed when missing) and its UI extension of the same version.
    $toolDir = Join-Path $env:USERPROFILE '.dotnet\tools'
    if (($env:PATH -split ';') -notcontains $toolDir) { $env:PATH = "$toolDir;$env:PATH" }
    if (-not (Get-Command wix -ErrorAction SilentlyContinue)) {
        if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
            throw 'wix is not installed, and dotnet (the .NET SDK) is not there to install it with'
        }
        Invoke-Checked -FilePath 'dotnet' -Arguments @('tool', 'install', '--global', 'wix', '--version', $WixVersion)
    }
    $version = ((Invoke-Capture -FilePath 'wix' -Arguments @('--version')) -split '\+')[0].Trim()
    if ([int](($version -split '\.')[0]) -lt 5) {
        throw "wix $version is too old: onedesk.wxs harvests with <Files>, new in WiX v5 (dotnet tool update --global wix --version $WixVersion)"
    }
    Invoke-Checked -FilePath 'wix' -Arguments @('extension', 'add', '-g', "WixToolset.UI.wixext/$version")
    return $version
}

function Get-MsiColumn {
    # The first column of every row of an MSI query, read through the Windows Installer COM API (late bound: the
    # object has no type library PowerShell can use). Every COM object is released, so the file is not kept open.
    param([string]$Msi, [string]$Query)
    $installer = New-Object -ComObject WindowsInstaller.Installer
    $database = $installer.GetType().InvokeMember('OpenDatabase', 'InvokeMethod', $null, $installer, @($Msi, 0))
    $view = $database.GetType().InvokeMember('OpenView', 'InvokeMethod', $null, $database, @($Query))
    [void]$view.GetType().InvokeMember('Execute', 'InvokeMethod', $null, $view, $null)
    $values = New-Object System.Collections.Generic.List[string]
    while ($true) {
        $record = $view.GetType().InvokeMember('Fetch', 'InvokeMethod', $null, $view, $null)
        if ($null -eq $record) { break }
        $values.Add($record.GetType().InvokeMember('StringData', 'GetProperty', $null, $record, @(1)))
        [void][System.Runtime.InteropServices.Marshal]::ReleaseComObject($record)
    }
    [void]$view.GetType().InvokeMember('Close', 'InvokeMethod', $null, $view, $null)
    foreach ($object in @($view, $database, $installer)) {
        [void][System.Runtime.InteropServices.Marshal]::ReleaseComObject($object)
    }
    [System.GC]::Collect()
    [System.GC]::WaitForPendingFinalizers()
    return ,$values.ToArray()
}

# --- the build -----------------------------------------------------------------------------------------------

$script:SigningPfx = $null
$script:SignTool = $null
try {
    foreach ($required in @($Spec, $Wxs, $Constraints, $Svg)) {
        if (-not (Test-Path -LiteralPath $required)) { throw "missing: $required" }
    }
    $venv = Join-Path $Work 'venv'
    if (Test-Path -LiteralPath $Work) {
        Get-ChildItem -LiteralPath $Work | Where-Object { -not ($ReuseVenv -and $_.Name -eq 'venv') } |
            Remove-Item -Recurse -Force
    }
    New-Item -ItemType Directory -Force -Path $Work, $OutDir | Out-Null

    # 1. The build venv.
    $py = Join-Path $venv 'Scripts\python.exe'
    if (-not (Test-Path -LiteralPath $py)) { Invoke-Checked -FilePath $Python -Arguments @('-m', 'venv', $venv) }
    $pyVersion = Invoke-Capture -FilePath $py -Arguments @('-c', 'import sys; print(sys.version.split()[0])')
    if (-not $pyVersion.StartsWith('3.11.')) { throw "the build needs Python 3.11, got $pyVersion from $Python" }
    Invoke-Checked -FilePath $py -Arguments @('-m', 'pip', 'install', '--quiet', '--upgrade', 'pip')
    # qtpdf: QtPdf/QtPdfWidgets, a wheel of their own from Qt 6.12 (constraints\windows.txt); pip only warns where
    # the extra does not exist.
    Invoke-Checked -FilePath $py -Arguments @('-m', 'pip', 'install', '--quiet', '-c', $Constraints, '.[dev,qtpdf]',
        $PyInstallerRequirement)
    foreach ($leftover in @('build\lib', 'build\bdist.win-amd64')) {
        if (Test-Path -LiteralPath $leftover) { Remove-Item -LiteralPath $leftover -Recurse -Force }
    }

    # 2. Version information and icon. SOURCE_DATE_EPOCH: the last commit, so a rebuild gives the same text.
    if (-not $env:SOURCE_DATE_EPOCH -and (Get-Command git -ErrorAction SilentlyContinue)) {
        $epoch = & git -C $Root log -1 '--format=%ct'
        if ($LASTEXITCODE -eq 0 -and $epoch) { $env:SOURCE_DATE_EPOCH = ([string]$epoch).Trim() }
    }
    $version = Invoke-Capture -FilePath $py -Arguments @('packaging\windows\versioninfo.py', '--print-version')
    Write-Host "OneDesk $version"
    $versionFile = Join-Path $Work 'versioninfo.txt'
    Invoke-Checked -FilePath $py -Arguments @('packaging\windows\versioninfo.py', $versionFile)
    $icon = Join-Path $Work 'onedesk.ico'
    Invoke-Checked -FilePath $py -Arguments @('packaging\windows\icon.py', $Svg, $icon)
    $env:ONEDESK_VERSION_FILE = $versionFile
    $env:ONEDESK_ICON = $icon

    # 3. Freeze.
    $dist = Join-Path $Work 'dist'
    Invoke-Checked -FilePath $py -Arguments @('-m', 'PyInstaller', '--noconfirm', '--clean', '--log-level', 'WARN',
        '--distpath', $dist, '--workpath', (Join-Path $Work 'pyinstaller'), $Spec)
    $frozen = Join-Path $dist 'onedesk'
    $exe = Join-Path $frozen 'onedesk.exe'
    if (-not (Test-Path -LiteralPath $exe)) { throw "PyInstaller made no $exe" }
    # The spec adds onedesk-cli.exe (the same program with a console) for administrators; it runs the subcommands.
    $cli = Join-Path $frozen 'onedesk-cli.exe'
    if (-not (Test-Path -LiteralPath $cli)) { $cli = $exe }
    $executables = @(Get-ChildItem -LiteralPath $frozen -Filter '*.exe' -File | ForEach-Object { $_.FullName })

    # 4. Sign the executables, or say why not.
    $script:SigningPfx = Get-SigningCertificate
    if ($script:SigningPfx) {
        $script:SignTool = Find-SignTool
        Invoke-Sign -Files $executables
    } else {
        Write-Host 'signing: skipped, ONEDESK_SIGN_PFX is not set (the exe and the MSI are unsigned; SmartScreen will warn)'
    }

    # 5. Smoke runs of the frozen program, on empty data folders of their own.
    $smoke = Join-Path $Work 'smoke'
    $dbData = Join-Path $smoke 'db'
    $probeData = Join-Path $smoke 'probe'
    New-Item -ItemType Directory -Force -Path $dbData, $probeData | Out-Null
    Assert-Frozen -Name 'help' -FilePath $exe -Arguments @('--help') -Expect '(?s)usage:.*\bdb\b' | Out-Null
    if ($cli -ne $exe) {
        Assert-Frozen -Name 'help (console)' -FilePath $cli -Arguments @('--help') -Expect '(?s)usage:.*\bdb\b' | Out-Null
    }
    Assert-Frozen -Name 'db upgrade' -FilePath $cli -Arguments @('--data-dir', $dbData, 'db', 'upgrade') `
        -Expect '\d{4}' | Out-Null
    Assert-Frozen -Name 'db check' -FilePath $cli -Arguments @('--data-dir', $dbData, 'db', 'check') `
        -Expect '(?m)^OK\s*$' | Out-Null
    $probe = Assert-Frozen -Name 'start-up probe' -FilePath $exe -Arguments @('--data-dir', $probeData) `
        -Environment @{ ONEDESK_STARTUP_PROBE = '1'; QT_QPA_PLATFORM = 'offscreen' } -TimeoutSeconds 180 `
        -Expect 'startup_ms=\d+'
    $startupMs = [regex]::Match($probe, 'startup_ms=(\d+)').Groups[1].Value

    # 6. The MSI.
    $wixVersionUsed = Initialize-Wix
    $msiName = "OneDesk-$version-x64.msi"
    $msiWork = Join-Path (Join-Path $Work 'msi') $msiName
    Invoke-Checked -FilePath 'wix' -Arguments @('build', $Wxs, '-arch', 'x64', '-culture', 'zh-CN',
        '-ext', 'WixToolset.UI.wixext', '-d', "Version=$version", '-d', "SourceDir=$frozen", '-d', "Icon=$icon",
        '-o', $msiWork)
    if (-not $SkipValidation) { Invoke-Checked -FilePath 'wix' -Arguments @('msi', 'validate', $msiWork) }
    $productVersion = Get-MsiColumn -Msi $msiWork -Query "SELECT ``Value`` FROM ``Property`` WHERE ``Property`` = 'ProductVersion'"
    if (@($productVersion).Count -ne 1 -or $productVersion[0] -ne $version) {
        throw "the MSI's ProductVersion is '$($productVersion -join ',')', not $version"
    }
    $msiFiles = @(Get-MsiColumn -Msi $msiWork -Query 'SELECT `File` FROM `File`').Count
    $frozenFiles = @(Get-ChildItem -LiteralPath $frozen -Recurse -File).Count
    if ($msiFiles -ne $frozenFiles) {
        throw "the MSI holds $msiFiles files and the frozen folder $frozenFiles files; the harvest (<Files>) missed some"
    }
    Write-Host "msi: $msiFiles files, ProductVersion $version (WiX $wixVersionUsed)"

    # 7. Sign the MSI, publish it with its checksum.
    if ($script:SigningPfx) { Invoke-Sign -Files @($msiWork) }
    $msi = Join-Path $OutDir $msiName
    Copy-Item -LiteralPath $msiWork -Destination $msi -Force
    $hash = (Get-FileHash -LiteralPath $msi -Algorithm SHA256).Hash.ToLowerInvariant()
    [System.IO.File]::WriteAllText("$msi.sha256", "$hash  $msiName`n")
    $size = (Get-Item -LiteralPath $msi).Length
    Write-Host "start-up: $startupMs ms (offscreen, frozen)"
    Write-Host "package: $msi"
    Write-Host ("package size: {0:N1} MB ({1} bytes)" -f ($size / 1048576), $size)
    Write-Host "sha256: $hash"
} finally {
    $decoded = Join-Path $Work 'signing.pfx'
    if (Test-Path -LiteralPath $decoded) { Remove-Item -LiteralPath $decoded -Force }
}
